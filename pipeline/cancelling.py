"""Cancel a job: never submitted if still waiting, cancelled at the provider where it can be."""

from __future__ import annotations

from datetime import datetime

from jobs.models import Job
from jobs.states import JobState
from pipeline.context import Context
from providers.base import Cancellable
from providers.errors import ProviderFailure

NOT_YET_SUBMITTED = frozenset({JobState.QUEUED, JobState.RETRY_WAIT})


def cancel_job(ctx: Context, job_id: str, now: datetime) -> str:
    """Cancel ``job_id`` and say what happened, in words for the CLI."""
    job = ctx.ledger.get(job_id)
    if job is None:
        return "not found"
    if job.state in NOT_YET_SUBMITTED:
        done = ctx.ledger.transition(
            job.id,
            JobState.CANCELLED,
            expect=NOT_YET_SUBMITTED,
            now=now,
            detail="cancelled before submission",
        )
        return "cancelled before submission" if done else f"already {job.state}"
    if job.state is JobState.SUBMITTED:
        return _cancel_remote(ctx, job, now)
    return f"not cancellable in state {job.state}"


def _cancel_remote(ctx: Context, job: Job, now: datetime) -> str:
    assert job.key_id is not None and job.remote_id is not None
    adapter = ctx.adapter(job.provider, job.key_id)
    if not isinstance(adapter, Cancellable):
        return f"{job.provider} cannot cancel remote jobs; it will finish and be archived"
    try:
        adapter.cancel(job.remote_id)
    except ProviderFailure as exc:
        return f"cancel failed at {job.provider}: {exc.message}"
    ctx.limiter.release(job.provider, job.key_id, job.id)
    done = ctx.ledger.transition(
        job.id,
        JobState.CANCELLED,
        expect={JobState.SUBMITTED},
        now=now,
        detail=f"cancelled at {job.provider}",
    )
    return "cancelled at the provider" if done else "cancelled at the provider; job had moved"
