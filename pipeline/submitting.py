"""Submit one job: take a limiter slot and budget, CAS to SUBMITTING, POST, record the remote id.

The client request id is written with SUBMITTING *before* the POST and sent as the provider's
idempotency key. It changes only when a remote job was created and failed (a new paid try);
every other re-POST (a timeout, a dropped connection, a redelivered message) reuses it, so a
provider that honours idempotency keys never creates, nor charges, a second remote job.

A job the limiter parks (its key is full, or other batches go first) gets no message at all: the
step that frees a slot hands it on (`pipeline.routing.slots`), and the watch index holds a long
fallback in case that wake-up is lost. A parked job is pinned to its key first, so the slot it is
handed and the key it submits on are the same.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from config.settings import ProviderName
from jobs.failures import FailureKind
from jobs.limits.breaker import Outcome
from jobs.limits.limiter import Grant, Handover
from jobs.limits.tiers import TierStore
from jobs.liveness.lease import Holder, resume_wait_s
from jobs.liveness.store import job_subject
from jobs.models import Job
from jobs.replicas import after_the_fact
from jobs.request_ids import first_request_id
from jobs.states import JobState
from pipeline.ambiguity import POSSIBLY_PAID_TWICE, callback_wait_s, resend_after_lost_answer
from pipeline.callbacks import backstop_delay, has_callback, with_callback
from pipeline.context import Context
from pipeline.decisions import Decision, Done, Step, Then
from pipeline.failing import fail_job
from pipeline.resigning import request_to_send
from pipeline.routing.daily_caps import daily_cap_wait
from pipeline.routing.failover import (
    Routed,
    Waiting,
    accepted,
    fatal_failover,
    note_refusal,
    park_or_pool,
    route,
    sooner,
    with_handovers,
)
from pipeline.routing.slots import hand_on
from providers.errors import AnswerLost, FatalFailure, RetryableFailure

log = logging.getLogger(__name__)

SUBMITTABLE = frozenset({JobState.QUEUED, JobState.RETRY_WAIT})
PARKED_RECHECK_MIN_S = 60.0
PARKED_RECHECK_MAX_S = 3600.0


@dataclass(frozen=True)
class Parked:
    """Refused a slot and queued in the limiter; re-driven by the watch index if never woken."""

    reason: str
    recheck_s: float
    handovers: tuple[Handover, ...] = ()


def submit_job(ctx: Context, job_id: str, now: datetime) -> Decision:
    """Run the submit step for ``job_id``; the returned decision says what comes next.

    While a job waits to be submitted it is on the ledger's watch list with the time by which a
    worker should act on it again, so a message lost with a killed worker is re-driven. Unless
    the job now holds its slot for polling, slots of its key left free go to parked jobs.
    """
    job = ctx.ledger.get(job_id)
    if job is not None and job.state in SUBMITTABLE:
        ctx.ledger.watch(job_id, now + ctx.call_grace())
    decision = _rewatch(ctx, job_id, _decide(ctx, job, now), now)
    if isinstance(decision, Then) and decision.step is Step.POLL:
        return decision
    if job is None or job.key_id is None:
        # The key may have been chosen just now: read which (a job's key never changes once set).
        job = ctx.ledger.get(job_id)
        if job is None or job.key_id is None:
            return decision
    return hand_on(ctx, job.provider, job.key_id, decision)


def _rewatch(ctx: Context, job_id: str, outcome: Decision | Parked, now: datetime) -> Decision:
    if isinstance(outcome, Parked):
        ctx.ledger.watch(job_id, now + timedelta(seconds=outcome.recheck_s))
        return Done(outcome.reason, outcome.handovers)
    if isinstance(outcome, Then) and outcome.step is Step.SUBMIT:
        ctx.ledger.watch(job_id, now + timedelta(seconds=outcome.countdown_s) + ctx.call_grace())
    else:
        ctx.ledger.unwatch(job_id)
    return outcome


def _decide(ctx: Context, job: Job | None, now: datetime) -> Decision | Parked:
    if job is None or job.state.terminal:
        if job is not None and job.key_id is not None:
            # A parked job cancelled meanwhile may just have been handed a slot.
            ctx.limiter.release(job.provider, job.key_id, job.id)
        return Done("job is gone or finished")
    if job.state is JobState.SUBMITTING:
        return _resume_submitting(ctx, job, now)
    if job.state not in SUBMITTABLE:
        return Done(f"job is already {job.state}")
    if job.awaits_anchor:
        # Sent once its clip's first segment is stored and has given its reference frame.
        return Done("waiting for the clip's anchor frame")
    return _start_attempt(ctx, job, now)


def _pin_key(ctx: Context, job: Job, now: datetime) -> Job | None:
    """``job`` with an API key of its provider's pool chosen and recorded (None: it moved)."""
    if job.key_id is not None:
        return job
    pool = ctx.key_ids(job.provider)
    limits = {key: ctx.limits(job.provider, key) for key in pool}
    key = ctx.limiter.pick_key(job.provider, pool, limits)
    return ctx.ledger.update(job, expect=job.state, now=now, key_id=key)


def _acquire(ctx: Context, job: Job, key: str) -> Grant:
    return ctx.limiter.acquire_slot(
        job.provider,
        key,
        job.id,
        ctx.limits(job.provider, key),
        ctx.slot_lease_s(),
        batch=job.batch,
        priority=job.priority,
        hold_guess_s=ctx.spec(job.provider).typical_duration_s,
    )


def _daily_cap_wait(ctx: Context, provider: ProviderName, key: str, now: datetime) -> Parked | None:
    """Parked until the rolling window frees when the key made its daily cap of generations."""
    wait = daily_cap_wait(ctx, provider, key, now.timestamp())
    if wait is None:
        return None
    cap = ctx.daily_cap(provider, key)
    reason = f"daily cap of {cap} generations reached on key {key}; parked until the window frees"
    return Parked(reason, max(wait, 1.0))


def _refused(grant: Grant) -> Then | Parked:
    reason = f"limiter: {grant.reason}"
    if not grant.parked:
        return Then(Step.SUBMIT, grant.retry_after_s, reason)
    recheck = min(max(2 * grant.retry_after_s, PARKED_RECHECK_MIN_S), PARKED_RECHECK_MAX_S)
    return Parked(f"{reason}; parked until a slot is handed over", recheck)


def _start_attempt(ctx: Context, job: Job, now: datetime) -> Decision | Parked:
    wait = _callback_wait(ctx, job, now)
    if wait is not None:
        return Then(Step.SUBMIT, wait, "waiting for the callback of a POST whose answer was lost")
    # Routing and failover (pipeline.routing.failover): which provider and key, or wait.
    routed = route(ctx, job, now)
    if isinstance(routed, Waiting):
        if routed.countdown_s is not None:
            return Then(Step.SUBMIT, routed.countdown_s, routed.reason)
        return Parked(routed.reason, routed.recheck_s)
    if not isinstance(routed, Routed):
        return routed
    outcome = _attempt(ctx, routed.job, now)
    if isinstance(outcome, Parked):
        pooled = park_or_pool(ctx, routed.job, outcome.reason, now)
        reason = pooled or outcome.reason
        return replace(outcome, reason=reason, handovers=outcome.handovers + routed.handovers)
    return with_handovers(sooner(outcome, routed), routed.handovers)


def _attempt(ctx: Context, job: Job, now: datetime) -> Decision | Parked:
    pinned = _pin_key(ctx, job, now)
    if pinned is None:
        return Done("job moved while choosing its key")
    job, key = pinned, pinned.key_id
    assert key is not None
    full = _daily_cap_wait(ctx, job.provider, key, now)
    if full is not None:
        return full
    grant = _acquire(ctx, job, key)
    if not grant.allowed:
        return _refused(grant)
    if not ctx.budget.reserve(job.batch, job.estimated_cost_usd):
        ctx.limiter.release(job.provider, key, job.id)
        fail_job(ctx, job, now, FailureKind.BUDGET, "the batch budget would be exceeded")
        return Done("over budget")
    # The lease is held from before the claim to the POST's outcome (jobs.liveness).
    with ctx.heartbeat.hold(job_subject(job.id), ctx.submit_grace().total_seconds()):
        return _claim_and_post(ctx, job, key, now)


def _claim_and_post(ctx: Context, job: Job, key: str, now: datetime) -> Decision:
    attempt = job.attempt + 1
    detail, flagged = f"attempt {attempt} on key {key}", dict[str, object]()
    if job.answer_lost:
        flagged, note = resend_after_lost_answer(job)
        detail = f"{detail}; {note}"
    claimed = ctx.ledger.transition(
        job,
        JobState.SUBMITTING,
        expect=SUBMITTABLE,
        expect_attempt=job.attempt,
        now=now,
        detail=detail,
        attempt=attempt,
        key_id=key,
        client_request_id=job.client_request_id or first_request_id(job.id),
        **flagged,
        durable=True,
    )
    if claimed is None:
        _give_back(ctx, job, key)
        return Done("another message claimed the job")
    return _post(ctx, claimed, now)


def _resume_submitting(ctx: Context, job: Job, now: datetime) -> Decision | Parked:
    """A job found in SUBMITTING: a redelivered message, or a worker that died mid-POST.

    The worker that claimed it holds its lease while the POST runs: a live one is never raced;
    one whose lease lapsed (killed) is re-sent at once; with no lease at all (leases off, or a
    worker from before them) the submit grace decides, as it always did.
    """
    waited = now - job.updated_at
    holder = Holder.NONE
    if ctx.heartbeat.enabled:
        holder = ctx.leases.view(job_subject(job.id)).holder
    wait = resume_wait_s(
        holder,
        waited.total_seconds(),
        ctx.submit_grace().total_seconds(),
        ctx.settings.liveness_lease_s,
    )
    if wait is not None:
        return Then(Step.SUBMIT, wait, "a POST may still be in flight")
    with ctx.heartbeat.hold(job_subject(job.id), ctx.submit_grace().total_seconds()):
        return _resend(ctx, job, now, waited, holder)


def _resend(
    ctx: Context, job: Job, now: datetime, waited: timedelta, holder: Holder
) -> Decision | Parked:
    assert job.key_id is not None
    grant = _acquire(ctx, job, job.key_id)
    if not grant.allowed:
        return _refused(grant)
    # The dead try's reservation may have been spent; the re-send needs one of its own.
    ctx.budget.commit(job.batch, job.estimated_cost_usd)
    if not ctx.budget.reserve(job.batch, job.estimated_cost_usd):
        ctx.limiter.release(job.provider, job.key_id, job.id)
        message = "the batch budget cannot pay for a re-send that may be a second charge"
        fail_job(ctx, job, now, FailureKind.BUDGET, message)
        return Done("over budget")
    why = "its worker's lease lapsed" if holder is Holder.LAPSED else "its submit grace passed"
    detail = (
        f"reconciled after {waited.total_seconds():.0f}s in SUBMITTING ({why}), no remote id: "
        f"the provider offers no lookup, so re-sending with the same idempotency key "
        f"{job.client_request_id}; {POSSIBLY_PAID_TWICE}: the previous POST may have been sent"
    )
    claimed = ctx.ledger.transition(
        job,
        JobState.SUBMITTING,
        expect={JobState.SUBMITTING},
        expect_attempt=job.attempt,
        now=now,
        detail=detail,
        attempt=job.attempt + 1,
        answer_lost=False,
        possible_double_charges=job.possible_double_charges + 1,
        durable=True,
        remote_possible=True,  # the POST of the worker that died may have been accepted
    )
    if claimed is None:
        ctx.budget.release(job.batch, job.estimated_cost_usd)
        return Done("another message reconciled the job")
    log.warning("resubmitting job %s: %s", job.id, detail, extra={"job_id": job.id})
    return _post(ctx, claimed, now)


def _post(ctx: Context, job: Job, now: datetime) -> Decision:
    assert job.key_id is not None and job.client_request_id is not None
    adapter = with_callback(ctx, job, ctx.adapter(job.provider, job.key_id))
    try:
        request = request_to_send(ctx, job.source, job.request)
        remote = adapter.submit(request, job.client_request_id)
    except RetryableFailure as exc:
        return _retry_later(ctx, job, now, exc)
    except FatalFailure as exc:
        _give_back(ctx, job, job.key_id)
        rerouted = fatal_failover(ctx, job, now, exc)
        if rerouted is not None:
            return rerouted
        fail_job(ctx, job, now, exc.kind, exc.message)
        return Done(f"fatal: {exc.kind}")
    ctx.limiter.on_success(job.provider, job.key_id, ctx.limits(job.provider, job.key_id))
    ctx.budget.commit(job.batch, job.estimated_cost_usd)
    TierStore(ctx.redis).record_generation(job.provider, job.key_id, job.id, now.timestamp())
    deadline = now + timedelta(seconds=ctx.settings.job_deadline_s)
    moved = after_the_fact(
        lambda: ctx.ledger.transition(
            job,
            JobState.SUBMITTED,
            expect={JobState.SUBMITTING},
            now=now,
            detail=f"remote id {remote.remote_id}",
            remote_id=remote.remote_id,
            submitted_at=remote.submitted_at,
            deadline=deadline,
            durable=True,
        )
    )
    if moved is None:
        return Done("job moved while submitting")
    first_poll = ctx.timing.first_poll_delay(
        ctx.spec(job.provider).typical_duration_s, (deadline - now).total_seconds()
    )
    woken = accepted(ctx, moved)
    return Then(Step.POLL, backstop_delay(ctx, moved, first_poll), "submitted", handovers=woken)


def _callback_wait(ctx: Context, job: Job, now: datetime) -> float | None:
    """The wait before re-sending a job whose lost POST a callback could still announce."""
    if not job.answer_lost or job.key_id is None:
        return None
    # The lost request carried a callback URL naming the job when one was registered for it.
    announces = has_callback(ctx.redis, job)
    return callback_wait_s(job, now, ctx.settings.crun_callback_grace_s, announces)


def _retry_later(ctx: Context, job: Job, now: datetime, exc: RetryableFailure) -> Decision:
    assert job.key_id is not None
    lost = isinstance(exc, AnswerLost)
    if lost:
        # The POST may have been paid for: its money counts as spent.
        ctx.limiter.release(job.provider, job.key_id, job.id)
        ctx.budget.commit(job.batch, job.estimated_cost_usd)
    else:
        _give_back(ctx, job, job.key_id)
    refused = note_refusal(ctx, job, exc)
    if exc.throttles_key and not refused.blocked and refused.outcome is not Outcome.DAILY_CAP:
        # An open circuit already stops the key's submits (for the Retry-After when one came);
        # a limiter cooldown would stop its polls too, and a daily cap is no request rate.
        ctx.limiter.on_throttled(
            job.provider, job.key_id, ctx.limits(job.provider, job.key_id), exc.retry_after
        )
    # A refused submit left no remote job: it waits by the job's deadline
    # (pipeline.routing.failover), not by a count of attempts.
    if not refused.clean and job.attempt >= ctx.settings.max_submit_attempts:
        message = f"gave up after {job.attempt} attempts; last: {exc.message}"
        fail_job(ctx, job, now, FailureKind.PROVIDER_UNAVAILABLE, message)
        return Done("attempts exhausted")
    clean = refused.blocked and refused.clean
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
        remote_possible=job.remote_possible or not refused.clean,
    )
    if moved is None:
        return Done("job moved while submitting")
    return Then(Step.SUBMIT, delay, type(exc).__name__)


def _give_back(ctx: Context, job: Job, key: str) -> None:
    ctx.limiter.release(job.provider, key, job.id)
    ctx.budget.release(job.batch, job.estimated_cost_usd)
