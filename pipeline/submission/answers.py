"""What a POST's answer means for the job, once the hooks have done their bookkeeping:
SUBMITTED with its remote id, RETRY_WAIT to try again (or to be routed elsewhere), or FAILED.
Decided by the failure's class (`providers.errors`), never by its status code or wording."""

from __future__ import annotations

from datetime import datetime, timedelta

from jobs.failures import FailureKind
from jobs.limits.breaker import Outcome
from jobs.models import Job
from jobs.replicas import after_the_fact
from jobs.states import JobState
from pipeline.ambiguity import PAID_ONCE
from pipeline.context import Context
from pipeline.decisions import Decision, Done, Step, Then
from pipeline.failing import fail_job
from pipeline.submission import hooks
from providers.base import RemoteJob
from providers.errors import AnswerLost, FatalFailure, RetryableFailure

REROUTED = frozenset({Outcome.CREDITS, Outcome.DAILY_CAP, Outcome.AUTH})
"""Refusals that say the key cannot pay or is not allowed: the job waits for another key (or a
top-up) instead of failing."""


def accepted(ctx: Context, job: Job, remote: RemoteJob, now: datetime) -> Decision:
    """The provider made the remote job: record it, and plan the first poll."""
    assert job.key_id is not None
    woken = hooks.after_accepted(ctx, job, now, remote)
    deadline = now + timedelta(seconds=ctx.settings.job_deadline_s)
    moved = after_the_fact(
        lambda: ctx.ledger.transition(
            job,
            JobState.SUBMITTED,
            expect={JobState.SUBMITTING},
            now=now,
            detail=f"remote id {remote.remote_id}" + _replayed_note(job, remote),
            remote_id=remote.remote_id,
            submitted_at=remote.submitted_at,
            deadline=deadline,
            provider_estimate_usd=remote.estimated_cost_usd,
            durable=True,
        )
    )
    if moved is None:
        return Done("job moved while submitting", woken)
    first_poll = ctx.timing.first_poll_delay(
        ctx.spec(job.provider).typical_duration_s, (deadline - now).total_seconds()
    )
    delay = hooks.poll_delay(ctx, moved, first_poll)
    return Then(Step.POLL, delay, "submitted", handovers=woken)


def _replayed_note(job: Job, remote: RemoteJob) -> str:
    if not remote.replayed:
        return ""
    return (
        f"; the provider replayed the job of Idempotency-Key {job.client_request_id}: {PAID_ONCE}"
    )


def refused(
    ctx: Context, job: Job, exc: RetryableFailure | FatalFailure, now: datetime
) -> Decision:
    """The POST failed with ``exc``: try again later, go elsewhere, or fail."""
    refusal = hooks.after_refused(ctx, job, exc)
    if isinstance(exc, FatalFailure):
        rerouted = _reroute(ctx, job, now, exc, refusal)
        if rerouted is not None:
            return rerouted
        fail_job(ctx, job, now, exc.kind, exc.message)
        return Done(f"fatal: {exc.kind}")
    return _retry_later(ctx, job, now, exc, refusal)


def _reroute(
    ctx: Context, job: Job, now: datetime, exc: FatalFailure, refusal: hooks.Refusal
) -> Decision | None:
    """For a submit refused for credits, a daily cap or auth: back to RETRY_WAIT to be re-routed
    (or to wait for a top-up), instead of failing; None when the job should fail as before."""
    if refusal.outcome not in REROUTED or job.remote_possible:
        return None  # an earlier submit may have been accepted: the job may not move
    if refusal.outcome is Outcome.AUTH and not _elsewhere(ctx, job):
        return None  # a key that is refused outright with nowhere else to go: fail now
    moved = ctx.ledger.transition(
        job,
        JobState.RETRY_WAIT,
        expect={JobState.SUBMITTING},
        now=now,
        detail=f"{type(exc).__name__}: {exc.message}; re-routing",
    )
    return (
        Then(Step.SUBMIT, 0.0, f"re-route after {refusal.outcome}") if moved else Done("job moved")
    )


def _elsewhere(ctx: Context, job: Job) -> bool:
    pairs = [(p, key) for p in job.route or (job.provider,) for key in ctx.key_ids(p)]
    return any(pair != (job.provider, job.key_id) for pair in pairs)


def _retry_later(
    ctx: Context, job: Job, now: datetime, exc: RetryableFailure, refusal: hooks.Refusal
) -> Decision:
    lost = isinstance(exc, AnswerLost)
    # A refused submit left no remote job: it waits by the job's deadline
    # (pipeline.routing.outages), not by a count of attempts.
    if not refusal.clean and job.attempt >= ctx.settings.max_submit_attempts:
        message = f"gave up after {job.attempt} attempts; last: {exc.message}"
        fail_job(ctx, job, now, FailureKind.PROVIDER_UNAVAILABLE, message)
        return Done("attempts exhausted")
    clean = refusal.blocked and refusal.clean
    delay = 0.0 if clean else ctx.timing.retry_delay(job.attempt, exc.retry_after)
    detail = f"{type(exc).__name__}: {exc.message}; retry in {delay:.1f}s"
    if lost:
        detail = f"{detail}; the POST was sent, so the provider may have created a paid job"
    moved = ctx.ledger.transition(
        job,
        JobState.RETRY_WAIT,
        expect={JobState.SUBMITTING},
        expect_attempt=job.attempt,  # a late answer must not pull a rival's try from under it
        now=now,
        detail=detail,
        answer_lost=lost,
        remote_possible=job.remote_possible or not refusal.clean,
    )
    if moved is None:
        return Done("job moved while submitting")
    return Then(Step.SUBMIT, delay, type(exc).__name__)
