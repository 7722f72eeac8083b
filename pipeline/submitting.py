"""Submit one job: take a limiter slot and budget, CAS to SUBMITTING, POST, record the remote id.

The client request id is written with SUBMITTING *before* the POST and sent as the provider's
idempotency key. It changes only when a remote job was created and failed (a new paid try);
every other re-POST (a timeout, a dropped connection, a redelivered message) reuses it, so a
provider that honours idempotency keys never creates, nor charges, a second remote job.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from jobs.models import Job
from jobs.states import JobState
from jobs.timing import retry_delay
from pipeline.context import Context
from pipeline.decisions import Decision, Done, Step, Then
from pipeline.failing import fail_job
from pipeline.polling import first_poll_delay
from providers.errors import (
    FailureKind,
    FatalFailure,
    RateLimited,
    RetryableFailure,
)

log = logging.getLogger(__name__)

SUBMITTABLE = frozenset({JobState.QUEUED, JobState.RETRY_WAIT})


def submit_job(ctx: Context, job_id: str, now: datetime) -> Decision:
    """Run the submit step for ``job_id``; the returned decision says what comes next.

    While a job waits to be submitted it is on the ledger's watch list with the time by which a
    worker should act on it again, so a message lost with a killed worker is re-driven.
    """
    job = ctx.ledger.get(job_id)
    if job is not None and job.state in SUBMITTABLE:
        ctx.ledger.watch(job_id, now + _grace(ctx))
    decision = _decide(ctx, job, now)
    if isinstance(decision, Then) and decision.step is Step.SUBMIT:
        ctx.ledger.watch(job_id, now + timedelta(seconds=decision.countdown_s) + _grace(ctx))
    else:
        ctx.ledger.unwatch(job_id)
    return decision


def _decide(ctx: Context, job: Job | None, now: datetime) -> Decision:
    if job is None or job.state.terminal:
        return Done("job is gone or finished")
    if job.state is JobState.SUBMITTING:
        return _resume_submitting(ctx, job, now)
    if job.state not in SUBMITTABLE:
        return Done(f"job is already {job.state}")
    return _start_attempt(ctx, job, now)


def _grace(ctx: Context) -> timedelta:
    """How long one submit may take: a POST up to the read timeout, and a margin."""
    return timedelta(seconds=ctx.settings.http_read_timeout_s + 5)


def _start_attempt(ctx: Context, job: Job, now: datetime) -> Decision:
    key = job.key_id or ctx.limiter.pick_key(
        job.provider,
        ctx.key_ids(job.provider),
        {k: ctx.limits(job.provider) for k in ctx.key_ids(job.provider)},
    )
    grant = ctx.limiter.acquire_slot(
        job.provider,
        key,
        job.id,
        ctx.limits(job.provider),
        ctx.slot_lease_s(),
        batch=job.batch,
        priority=job.priority,
        hold_guess_s=ctx.spec(job.provider).typical_duration_s,
    )
    if not grant.allowed:
        return Then(Step.SUBMIT, grant.retry_after_s, f"limiter: {grant.reason}")
    if not ctx.budget.reserve(job.batch, job.estimated_cost_usd):
        ctx.limiter.release(job.provider, key, job.id)
        fail_job(ctx, job, now, FailureKind.BUDGET, "the batch budget would be exceeded")
        return Done("over budget")
    attempt = job.attempt + 1
    claimed = ctx.ledger.transition(
        job.id,
        JobState.SUBMITTING,
        expect=SUBMITTABLE,
        now=now,
        detail=f"attempt {attempt} on key {key}",
        attempt=attempt,
        key_id=key,
        client_request_id=job.client_request_id or f"{job.id}.1",
    )
    if claimed is None:
        _give_back(ctx, job, key)
        return Done("another message claimed the job")
    return _post(ctx, claimed, now)


def _resume_submitting(ctx: Context, job: Job, now: datetime) -> Decision:
    """A job found in SUBMITTING: a redelivered message, or a worker that died mid-POST."""
    grace = _grace(ctx)
    waited = now - job.updated_at
    if waited < grace:
        return Then(Step.SUBMIT, (grace - waited).total_seconds(), "a POST may still be in flight")
    assert job.key_id is not None
    grant = ctx.limiter.acquire_slot(
        job.provider,
        job.key_id,
        job.id,
        ctx.limits(job.provider),
        ctx.slot_lease_s(),
        batch=job.batch,
        priority=job.priority,
        hold_guess_s=ctx.spec(job.provider).typical_duration_s,
    )
    if not grant.allowed:
        return Then(Step.SUBMIT, grant.retry_after_s, f"limiter: {grant.reason}")
    detail = (
        f"reconciled after {waited.total_seconds():.0f}s in SUBMITTING without a remote id: "
        f"the provider offers no lookup, so re-sending with the same idempotency key "
        f"{job.client_request_id}"
    )
    claimed = ctx.ledger.transition(
        job.id,
        JobState.SUBMITTING,
        expect={JobState.SUBMITTING},
        now=now,
        detail=detail,
        attempt=job.attempt + 1,
    )
    if claimed is None:
        return Done("another message reconciled the job")
    log.warning("resubmitting job %s: %s", job.id, detail, extra={"job_id": job.id})
    return _post(ctx, claimed, now)


def _post(ctx: Context, job: Job, now: datetime) -> Decision:
    assert job.key_id is not None and job.client_request_id is not None
    adapter = ctx.adapter(job.provider, job.key_id)
    try:
        remote = adapter.submit(job.request, job.client_request_id)
    except RetryableFailure as exc:
        return _retry_later(ctx, job, now, exc)
    except FatalFailure as exc:
        _give_back(ctx, job, job.key_id)
        fail_job(ctx, job, now, exc.kind, exc.message)
        return Done(f"fatal: {exc.kind}")
    ctx.limiter.on_success(job.provider, job.key_id, ctx.limits(job.provider))
    ctx.budget.commit(job.batch, job.estimated_cost_usd)
    deadline = now + timedelta(seconds=ctx.settings.job_deadline_s)
    moved = ctx.ledger.transition(
        job.id,
        JobState.SUBMITTED,
        expect={JobState.SUBMITTING},
        now=now,
        detail=f"remote id {remote.remote_id}",
        remote_id=remote.remote_id,
        submitted_at=remote.submitted_at,
        deadline=deadline,
    )
    if moved is None:
        return Done("job moved while submitting")
    return Then(Step.POLL, first_poll_delay(remote.poll_after_s), "submitted")


def _retry_later(ctx: Context, job: Job, now: datetime, exc: RetryableFailure) -> Decision:
    assert job.key_id is not None
    _give_back(ctx, job, job.key_id)
    if isinstance(exc, RateLimited) or exc.retry_after is not None:
        ctx.limiter.on_throttled(
            job.provider, job.key_id, ctx.limits(job.provider), exc.retry_after
        )
    if job.attempt >= ctx.settings.max_submit_attempts:
        message = f"gave up after {job.attempt} attempts; last: {exc.message}"
        fail_job(ctx, job, now, FailureKind.PROVIDER_UNAVAILABLE, message)
        return Done("attempts exhausted")
    delay = retry_delay(job.attempt, exc.retry_after)
    moved = ctx.ledger.transition(
        job.id,
        JobState.RETRY_WAIT,
        expect={JobState.SUBMITTING},
        now=now,
        detail=f"{type(exc).__name__}: {exc.message}; retry in {delay:.1f}s",
    )
    if moved is None:
        return Done("job moved while submitting")
    return Then(Step.SUBMIT, delay, type(exc).__name__)


def _give_back(ctx: Context, job: Job, key: str) -> None:
    ctx.limiter.release(job.provider, key, job.id)
    ctx.budget.release(job.batch, job.estimated_cost_usd)
