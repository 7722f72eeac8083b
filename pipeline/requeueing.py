"""`restyle retry`: put finished-but-unsuccessful jobs back in the queue for a fresh try."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jobs.ledger import Ledger
from jobs.models import Job
from jobs.request_ids import next_request_id
from jobs.states import JobState

RETRYABLE_ENDS = frozenset({JobState.FAILED, JobState.EXPIRED, JobState.CANCELLED})


def requeue(ledger: Ledger, job: Job, now: datetime) -> Job | None:
    """CAS ``job`` back to QUEUED with its attempts, remote id and failure cleared."""
    return ledger.transition(
        job.id,
        JobState.QUEUED,
        expect=RETRYABLE_ENDS,
        now=now,
        detail=f"requeued by restyle retry (was {job.state}: {job.failure_kind or '-'})",
        **fresh_try(job),
    )


def fresh_try(job: Job) -> dict[str, Any]:
    """The fields a job starts a new paid try with: attempts, remote job, output URLs and
    failure cleared, a new client request id."""
    return {
        "attempt": 0,
        "client_request_id": (
            next_request_id(job.id, job.client_request_id) if job.client_request_id else None
        ),
        "remote_id": None,
        "remote_possible": False,
        "output_urls": (),
        "expires_at": None,
        "failure_kind": None,
        "failure_message": None,
        "polls": 0,
        "last_poll_at": None,
        "next_poll_at": None,
    }
