"""Retry: put finished-but-unsuccessful jobs back in the queue for a fresh try, their clips
reopened first (a retried segment stored at once must find its clip open again)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from jobs.clips.store import ClipStore
from jobs.ledger import Ledger
from jobs.models import Job
from jobs.request_ids import next_request_id
from jobs.states import JobState
from pipeline.operations.clips import reopen_clips
from pipeline.operations.sends import Outcome, Sends

RETRYABLE_ENDS = frozenset({JobState.FAILED, JobState.EXPIRED, JobState.CANCELLED})
BATCH_RETRY = frozenset({JobState.FAILED, JobState.EXPIRED})
"""What retrying a batch retries by default (a cancelled job stays cancelled)."""


def requeue(ledger: Ledger, job: Job, now: datetime) -> Job | None:
    """CAS ``job`` back to QUEUED with its attempts, remote id and failure cleared."""
    return ledger.transition(
        job.id,
        JobState.QUEUED,
        expect=RETRYABLE_ENDS,
        now=now,
        detail=f"requeued by a retry (was {job.state}: {job.failure_kind or '-'})",
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


def retry_jobs(
    ledger: Ledger, clips: ClipStore, jobs: Sequence[Job], now: datetime,
    reopen: Collection[str] = (),
) -> Sends:  # fmt: skip
    """Requeue ``jobs`` (CAS: one that moved meanwhile is left alone) after reopening the failed
    clips of their segments and of ``reopen``; what to send for them."""
    clip_ids = {job.clip_id for job in jobs if job.clip_id} | set(reopen)
    steps = reopen_clips(clips, clip_ids, now)
    requeued = [new for job in jobs if (new := requeue(ledger, job, now)) is not None]
    # A segment waiting for its clip's anchor frame is sent by the anchor step, not now.
    return Sends([job for job in requeued if not job.awaits_anchor], steps)


def retry_one(ledger: Ledger, clips: ClipStore, job: Job, now: datetime) -> Outcome:
    """Retry one FAILED, EXPIRED or CANCELLED job (a segment reopens its failed clip)."""
    if job.state not in RETRYABLE_ENDS:
        return Outcome(f"{job.item} is {job.state}: nothing to retry")
    sends = retry_jobs(ledger, clips, [job], now)
    return Outcome(f"requeued {job.item}" if sends.jobs else f"{job.item} had moved", sends)


def retry_batch(
    ledger: Ledger,
    clips: ClipStore,
    batch: str,
    now: datetime,
    states: Collection[JobState] = BATCH_RETRY,
) -> Outcome:
    """Retry the jobs of ``batch`` in ``states`` and reopen its failed clips (a clip whose
    stitch failed is stitched again; nothing stored is paid twice)."""
    jobs = [job for job in ledger.get_many(ledger.batch_ids(batch)) if job.state in states]
    sends = retry_jobs(ledger, clips, jobs, now, reopen=clips.batch_ids(batch))
    return Outcome(f"requeued {len(sends.jobs)} of {len(jobs)} job(s) in {batch}", sends)


def retry_clip(ledger: Ledger, clips: ClipStore, clip_id: str, now: datetime) -> Outcome:
    """Retry a clip's failed and expired segments (or its cut or stitch) and reopen it."""
    clip = clips.get(clip_id)
    if clip is None:
        return Outcome("not found")
    jobs = [job for job in ledger.get_many(clip.segment_ids()) if job.state in BATCH_RETRY]
    sends = retry_jobs(ledger, clips, jobs, now, reopen=[clip.id])
    if not jobs and not sends.clip_steps:
        return Outcome(f"clip {clip.item} is {clip.state}: nothing to retry", sends)
    return Outcome(f"requeued {len(sends.jobs)} segment(s) of {clip.item}", sends)
