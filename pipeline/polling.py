"""Poll one job once: GET its remote status and decide the next poll, the archive, or the end."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from jobs.failures import FailureKind
from jobs.models import Job
from jobs.request_ids import next_request_id
from jobs.states import JobState
from jobs.timing import EndPrediction, ProgressReading, predict_end
from pipeline.billing import settle_bill
from pipeline.callbacks import backstop_delay
from pipeline.context import Context
from pipeline.decisions import Decision, Done, Step, Then
from pipeline.detection import observe as observe_detection
from pipeline.failing import expire_job, fail_job
from pipeline.routing.slots import hand_on
from providers.base import RemoteState, RemoteStatus
from providers.errors import FatalFailure, ResultExpired, RetryableFailure

EARLY_TOLERANCE = 0.5
"""A poll arriving before half of its planned delay has passed belongs to a duplicate chain."""


def poll_job(ctx: Context, job_id: str, now: datetime) -> Decision:
    """Run the poll step for ``job_id``; a job that stops polling hands its slot on."""
    job = ctx.ledger.get(job_id)
    if job is None or job.state is not JobState.SUBMITTED:
        return Done("job is not waiting on its provider")
    if is_duplicate_chain(job, now):
        return Done("another poll chain is live for this job")
    decision = _poll(ctx, job, now)
    if isinstance(decision, Then) and decision.step is Step.POLL:
        return decision
    return hand_on(ctx, job.provider, _key(job), decision)


def _poll(ctx: Context, job: Job, now: datetime) -> Decision:
    assert job.key_id is not None and job.remote_id is not None
    adapter = ctx.adapter(job.provider, job.key_id)
    grant = ctx.limiter.acquire_request(
        job.provider, job.key_id, ctx.limits(job.provider, job.key_id)
    )
    if not grant.allowed:
        return _reschedule(ctx, job, now, grant.retry_after_s, f"limiter: {grant.reason}")
    try:
        status = adapter.poll(job.remote_id, submitted_at=job.submitted_at)
    except RetryableFailure as exc:
        return _poll_failed_retryably(ctx, job, now, exc)
    except ResultExpired as exc:
        _release(ctx, job)
        expire_job(ctx, job, now, exc.message)
        return Done("expired at the provider")
    except FatalFailure as exc:
        _release(ctx, job)
        fail_job(ctx, job, now, exc.kind, exc.message)
        return Done(f"fatal: {exc.kind}")
    ctx.limiter.on_success(job.provider, job.key_id, ctx.limits(job.provider, job.key_id))
    return _on_status(ctx, job, now, status)


def is_duplicate_chain(job: Job, now: datetime) -> bool:
    """True when a poll arrives too early to be the one its job planned last."""
    if job.next_poll_at is None or job.last_poll_at is None:
        return False
    planned = (job.next_poll_at - job.last_poll_at).total_seconds()
    return now < job.last_poll_at + timedelta(seconds=planned * EARLY_TOLERANCE)


def _on_status(ctx: Context, job: Job, now: datetime, status: RemoteStatus) -> Decision:
    if not status.state.terminal:
        ctx.limiter.renew(job.provider, _key(job), job.id, ctx.slot_lease_s())
        prediction = _predict_end(job, now, status.progress)
        delay = _planned_delay(ctx, job, now, prediction)
        return _reschedule(
            ctx, job, now, delay, "still running", status.progress, _resolved_end(job, prediction)
        )
    settled = settle_bill(ctx, job, status, now)
    if settled is None:
        return Done("job moved")
    job = settled
    _release(ctx, job)
    observe_detection(ctx, job, now)
    if status.state is RemoteState.SUCCEEDED:
        return _succeeded(ctx, job, now, status)
    if status.state is RemoteState.CANCELLED:
        ctx.ledger.transition(
            job,
            JobState.CANCELLED,
            expect={JobState.SUBMITTED},
            now=now,
            detail="cancelled at the provider",
        )
        return Done("cancelled")
    return _remote_failed(ctx, job, now, status)


def _succeeded(ctx: Context, job: Job, now: datetime, status: RemoteStatus) -> Decision:
    if not status.output_urls:
        fail_job(ctx, job, now, FailureKind.PROVIDER, "succeeded without an output URL")
        return Done("no output")
    moved = ctx.ledger.transition(
        job,
        JobState.SUCCEEDED,
        expect={JobState.SUBMITTED},
        now=now,
        detail=f"output ready; expires {status.expires_at or 'unknown'}",
        output_urls=status.output_urls,
        expires_at=status.expires_at,
        remote_completed_at=now,
        progress=1.0,
        polls=job.polls + 1,
        last_poll_at=now,
    )
    return Then(Step.ARCHIVE, 0, "succeeded") if moved else Done("job moved")


def _remote_failed(ctx: Context, job: Job, now: datetime, status: RemoteStatus) -> Decision:
    kind = status.failure_kind or FailureKind.GENERATION
    message = status.message or "the provider reported FAILED without a message"
    if kind is FailureKind.PROVIDER and job.attempt < ctx.settings.max_submit_attempts:
        next_id = next_request_id(job.id, job.client_request_id)
        moved = ctx.ledger.transition(
            job,
            JobState.RETRY_WAIT,
            expect={JobState.SUBMITTED},
            now=now,
            detail=f"remote job failed with a retryable cause: {message}",
            client_request_id=next_id,
            remote_id=None,
            provider_estimate_usd=None,  # the maximum of the remote job that ended
            remote_possible=False,
        )
        delay = ctx.timing.retry_delay(job.attempt, None)
        return Then(Step.SUBMIT, delay, "retryable remote failure") if moved else Done("moved")
    fail_job(ctx, job, now, kind, message)
    return Done(f"remote job failed: {kind}")


def _poll_failed_retryably(
    ctx: Context, job: Job, now: datetime, exc: RetryableFailure
) -> Decision:
    if exc.throttles_key:
        ctx.limiter.on_throttled(
            job.provider, _key(job), ctx.limits(job.provider, job.key_id), exc.retry_after
        )
    delay = ctx.timing.poll_retry_delay(job.polls, exc.retry_after)
    return _reschedule(ctx, job, now, delay, f"{type(exc).__name__}: {exc.message}")


def _planned_delay(
    ctx: Context, job: Job, now: datetime, prediction: EndPrediction | None
) -> float:
    spec = ctx.spec(job.provider)
    elapsed = (now - (job.submitted_at or now)).total_seconds()
    remaining = ((job.deadline or now) - now).total_seconds()
    delay = ctx.timing.next_poll_delay(
        polls_done=job.polls,
        typical_s=spec.typical_duration_s,
        elapsed_s=elapsed,
        deadline_remaining_s=max(remaining, 0.0),
        prediction=prediction,
    )
    pressure = ctx.limiter.rate_pressure(
        job.provider, _key(job), ctx.limits(job.provider, job.key_id)
    )
    # Near the key's request rate, spend fewer requests on status checks.
    return backstop_delay(ctx, job, delay * (1.0 + 2.0 * max(0.0, pressure - 0.5)))


def _predict_end(job: Job, now: datetime, progress: float | None) -> EndPrediction | None:
    """When the remote job should end, from this poll's progress and the last ones."""
    if progress is None or job.submitted_at is None:
        return None
    start = job.submitted_at
    previous = None
    if job.progress is not None and job.progress_at is not None:
        previous = ProgressReading(job.progress, (job.progress_at - start).total_seconds())
    previous_end = None
    if job.predicted_end_at is not None:
        previous_end = (job.predicted_end_at - start).total_seconds()
    latest = ProgressReading(progress, (now - start).total_seconds())
    return predict_end(latest, previous, previous_end)


def _resolved_end(job: Job, prediction: EndPrediction | None) -> datetime | None:
    """The prediction worth keeping for the next poll to confirm (only a resolved one)."""
    if prediction is None or not prediction.resolved or job.submitted_at is None:
        return None
    return job.submitted_at + timedelta(seconds=prediction.end_s)


def _reschedule(
    ctx: Context,
    job: Job,
    now: datetime,
    delay: float,
    reason: str,
    progress: float | None = None,
    predicted_end_at: datetime | None = None,
) -> Decision:
    if job.deadline is not None and now >= job.deadline:
        _release(ctx, job)
        fail_job(ctx, job, now, FailureKind.PROVIDER, "the remote job passed its deadline")
        return Done("deadline passed")
    remaining = (job.deadline - now).total_seconds() if job.deadline is not None else math.inf
    delay = ctx.timing.reschedule_delay(delay, remaining)
    changes: dict[str, object] = {
        "polls": job.polls + 1,
        "last_poll_at": now,
        "next_poll_at": now + timedelta(seconds=delay),
    }
    if progress is not None:
        changes["progress"] = progress
        changes["progress_at"] = now
        changes["predicted_end_at"] = predicted_end_at
    moved = ctx.ledger.update(job, expect=JobState.SUBMITTED, now=now, **changes)
    return Then(Step.POLL, delay, reason) if moved else Done("job moved")


def _key(job: Job) -> str:
    assert job.key_id is not None, "a submitted job always has a key"
    return job.key_id


def _release(ctx: Context, job: Job) -> None:
    ctx.limiter.release(job.provider, _key(job), job.id)
