"""Cancel a job, a clip or a batch: a job still waiting is never submitted, a running one is
cancelled at the provider where it can be; a clip is ended first, so no segment of it that
finishes meanwhile starts a stitch, then each of its segments is cancelled as a job.

Money: a job is reserved for only while its POST is out, so one cancelled before submission
holds nothing. One cancelled at the provider is read once more for its bill (Runway's cancelled
task carries ``cost``: 0 when refunded), which replaces what the budget counted; without a bill
it keeps what was counted (the provider's maximum where it said one, else our estimate),
marked estimated. A job whose last POST's answer was lost keeps that POST's estimate: it may
have been paid.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from jobs.clips.record import ClipState
from jobs.models import Job
from jobs.states import JobState
from pipeline.billing import settle_bill
from pipeline.context import Context
from pipeline.operations.clips import cancel_clips
from providers.adapter import ProviderAdapter
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
            detail=unsent_money_note(job),
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
    billed = _bill_after_cancel(ctx, adapter, job, now)
    done = billed and ctx.ledger.transition(
        billed.id,
        JobState.CANCELLED,
        expect={JobState.SUBMITTED},
        now=now,
        detail=f"cancelled at {job.provider}; {cancelled_money_note(billed)}",
    )
    return "cancelled at the provider" if done else "cancelled at the provider; job had moved"


def _bill_after_cancel(
    ctx: Context, adapter: ProviderAdapter, job: Job, now: datetime
) -> Job | None:
    """``job`` with the bill its cancelled remote job carries where the provider reports one
    (None: the job moved meanwhile)."""
    assert job.remote_id is not None
    try:
        status = adapter.poll(job.remote_id, submitted_at=job.submitted_at)
    except ProviderFailure:
        return job  # no bill to read: what was counted stays, marked estimated
    return settle_bill(ctx, job, status, now) if status.state.terminal else job


def cancelled_money_note(job: Job) -> str:
    """What a job cancelled at its provider cost, for its history (pure)."""
    if job.billed_remote_id is not None and job.billed_remote_id == job.remote_id:
        return f"billed ${job.billed_cost_usd or 0.0:.2f} in all"
    return f"no bill: ${job.counted_usd:.2f} kept as spent, estimated"


def unsent_money_note(job: Job) -> str:
    """What a job cancelled before (re-)submission cost, for its history (pure)."""
    if job.answer_lost:
        return (
            f"cancelled before re-sending; the last POST's answer was lost, so it may have been "
            f"paid: ${job.estimated_cost_usd:.2f} kept as spent, estimated"
        )
    if job.attempt == 0:
        return "cancelled before submission; nothing was reserved or spent for it"
    return "cancelled before re-sending; nothing is reserved for it (earlier tries keep their cost)"
