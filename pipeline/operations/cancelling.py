"""Cancel a job, a clip or a batch: a job still waiting is never submitted, a running one is
cancelled at the provider where it can be; a clip is ended first, so no segment of it that
finishes meanwhile starts a stitch, then each of its segments is cancelled as a job."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from jobs.clips.record import ClipState
from jobs.models import Job
from jobs.states import JobState
from pipeline.context import Context
from pipeline.operations.clips import cancel_clips
from providers.base import Cancellable
from providers.errors import ProviderFailure

NOT_YET_SUBMITTED = frozenset({JobState.QUEUED, JobState.RETRY_WAIT})
CANCELLABLE = NOT_YET_SUBMITTED | {JobState.SUBMITTED}
"""What a cancel acts on; later states finish and are archived (they are paid already)."""


def cancel_job(ctx: Context, job_id: str, now: datetime) -> str:
    """Cancel ``job_id`` and say what happened, in words for a person."""
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


def cancel_clip(ctx: Context, clip_id: str, now: datetime) -> str:
    """Cancel a clip and every segment of it that has not finished."""
    clip = ctx.clips.get(clip_id)
    if clip is None:
        return "not found"
    if clip.state.terminal:
        return f"clip is {clip.state}: nothing to cancel"
    moved = ctx.clips.move(clip, ClipState.CANCELLED, expect={clip.state}, now=now,
                           detail="cancelled by the producer")  # fmt: skip
    if moved is None:
        return "clip had moved; try again"
    ctx.clips.unwatch(clip.id)
    outcomes = Counter(cancel_job(ctx, job_id, now) for job_id in clip.segment_ids())
    return "clip cancelled" + "".join(f"; {n} {what}" for what, n in sorted(outcomes.items()))


def cancel_batch(ctx: Context, batch: str, now: datetime) -> tuple[int, Counter[str]]:
    """Cancel every unfinished clip of ``batch``, then every job: (clips cancelled, outcomes)."""
    clips = cancel_clips(ctx.clips, batch, now)
    outcomes = Counter(cancel_job(ctx, job_id, now) for job_id in ctx.ledger.batch_ids(batch))
    return clips, outcomes


def batch_message(clips: int, outcomes: Counter[str]) -> str:
    """`cancel_batch`'s outcome in one line."""
    parts = [f"{clips} clip(s) cancelled"] if clips else []
    parts += [f"{n} {outcome}" for outcome, n in sorted(outcomes.items())]
    return "; ".join(parts) or "nothing to cancel"


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
