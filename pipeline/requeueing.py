"""`restyle retry`: put finished-but-unsuccessful jobs back in the queue for a fresh try."""

from __future__ import annotations

from datetime import datetime

from jobs.ledger import Ledger
from jobs.models import Job
from jobs.states import JobState

RETRYABLE_ENDS = frozenset({JobState.FAILED, JobState.EXPIRED, JobState.CANCELLED})


def next_client_request_id(job: Job) -> str:
    """A new idempotency key for a new paid try (``<job>.<n+1>``)."""
    suffix = (job.client_request_id or "").rpartition(".")[2]
    tries = int(suffix) if suffix.isdigit() else 0
    return f"{job.id}.{tries + 1}"


def requeue(ledger: Ledger, job: Job, now: datetime) -> Job | None:
    """CAS ``job`` back to QUEUED with its attempts, remote id and failure cleared."""
    return ledger.transition(
        job.id,
        JobState.QUEUED,
        expect=RETRYABLE_ENDS,
        now=now,
        detail=f"requeued by restyle retry (was {job.state}: {job.failure_kind or '-'})",
        attempt=0,
        client_request_id=next_client_request_id(job) if job.client_request_id else None,
        remote_id=None,
        remote_possible=False,
        output_urls=(),
        expires_at=None,
        failure_kind=None,
        failure_message=None,
        polls=0,
        last_poll_at=None,
        next_poll_at=None,
    )
