"""The bookkeeping around a submit's POST, one concern per hook, run as a chain around it (as
dramatiq's middleware runs around a message): the key's daily cap, its circuit breaker, the
limiter's slot, the batch budget and crun's callback.

- ``before_submit``: may veto the attempt, with the decision the step returns instead (or a
  `Failure` the job ends with); the hooks before the one that vetoed give back what they took.
- ``give_back``: undo ``before_submit`` (a later hook vetoed, or another message won the claim).
- ``adapter``: the adapter the POST goes through (crun's callback URL is bound to it).
- ``after_accepted``: the provider made the remote job; jobs to send submits for now.
- ``poll_delay``: the first poll's delay, as the hook would have it.
- ``after_refused``: the POST failed; each hook adds what it learnt to the `Refusal`.

The POST itself (`pipeline.submitting`) knows none of them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime

from jobs.delays import PARKED_RECHECK
from jobs.failures import FailureKind
from jobs.limits.breaker import CircuitState, Outcome, describe
from jobs.limits.limiter import Handover
from jobs.limits.tiers import TierStore
from jobs.models import Job
from pipeline.billing import accepted_spend
from pipeline.callbacks import backstop_delay, with_callback
from pipeline.context import Context, utcnow
from pipeline.decisions import Decision, Done, Step, Then
from pipeline.failing import fail_job
from pipeline.routing.breaker_outcomes import breaker_outcome
from pipeline.routing.daily_caps import daily_cap_wait
from providers.adapter import ProviderAdapter
from providers.base import RemoteJob
from providers.errors import (
    AnswerLost,
    DailyCap,
    ProviderFailure,
    RetryableFailure,
    refused_before_acceptance,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Failure:
    """A veto that ends the job: FAILED with ``kind`` and ``message``."""

    kind: FailureKind
    message: str
    reason: str


@dataclass(frozen=True)
class Refusal:
    """What a failed POST means: ``clean`` (no remote job can exist), ``blocked`` (the key's
    circuit now refuses submits) and the breaker's ``outcome``."""

    clean: bool
    blocked: bool = False
    outcome: Outcome | None = None


Veto = Decision | Failure


class SubmitHook:
    """One concern's bookkeeping around the POST; every method does nothing unless overridden."""

    def before_submit(
        self, ctx: Context, job: Job, key: str, now: datetime, resend: bool
    ) -> Veto | None:
        """None to go on; else why the attempt stops here. ``resend``: a reconciled job's
        re-send after a worker died mid-POST (`pipeline.submission.claiming`)."""
        return None

    def give_back(self, ctx: Context, job: Job, key: str, lost_claim: bool, resend: bool) -> None:
        """Undo ``before_submit``: a later hook vetoed, or (``lost_claim``) another message
        claimed the job first."""

    def adapter(self, ctx: Context, job: Job, adapter: ProviderAdapter) -> ProviderAdapter:
        """The adapter the POST of the claimed ``job`` goes through."""
        return adapter

    def after_accepted(
        self, ctx: Context, job: Job, now: datetime, remote: RemoteJob
    ) -> tuple[Handover, ...]:
        """The provider made the remote job; parked jobs to send submits for now."""
        return ()

    def poll_delay(self, ctx: Context, job: Job, delay_s: float) -> float:
        """The submitted job's first poll delay."""
        return delay_s

    def after_refused(
        self, ctx: Context, job: Job, exc: ProviderFailure, refusal: Refusal
    ) -> Refusal:
        """The POST failed with ``exc``; ``refusal`` as the hooks before this one left it."""
        return refusal


class DailyCapHook(SubmitHook):
    """A key's own count of generations against its known daily cap (`jobs.limits.tiers`)."""

    def before_submit(
        self, ctx: Context, job: Job, key: str, now: datetime, resend: bool
    ) -> Veto | None:
        if resend:
            return None  # the dead try's generation may have counted already
        wait = daily_cap_wait(ctx, job.provider, key, now.timestamp())
        if wait is None:
            return None
        cap = ctx.daily_cap(job.provider, key)
        reason = (
            f"daily cap of {cap} generations reached on key {key}; parked until the window frees"
        )
        return Done(reason, recheck_s=max(wait, 1.0))

    def after_accepted(
        self, ctx: Context, job: Job, now: datetime, remote: RemoteJob
    ) -> tuple[Handover, ...]:
        assert job.key_id is not None
        TierStore(ctx.redis).record_generation(job.provider, job.key_id, job.id, now.timestamp())
        return ()


class BreakerHook(SubmitHook):
    """The key's circuit breaker hears every POST's outcome. Admission (who may submit on an
    open or half-open circuit) is routing's (`pipeline.routing.route`)."""

    def after_accepted(
        self, ctx: Context, job: Job, now: datetime, remote: RemoteJob
    ) -> tuple[Handover, ...]:
        """If the success closed a circuit, the jobs that waited out its outage."""
        assert job.key_id is not None
        change = ctx.breakers.record(job.provider, job.key_id, Outcome.SUCCESS)
        if not change.closed_now:
            return ()
        log.info(
            "%s key %s circuit closed",
            job.provider,
            job.key_id,
            extra={"provider": str(job.provider), "key_id": job.key_id},
        )
        waiting = [job_id for job_id in ctx.breakers.take_waiting() if job_id != job.id]
        return tuple(Handover(found.id, found.priority) for found in ctx.ledger.get_many(waiting))

    def after_refused(
        self, ctx: Context, job: Job, exc: ProviderFailure, refusal: Refusal
    ) -> Refusal:
        outcome = breaker_outcome(exc)
        if outcome is None or job.key_id is None:
            return replace(refusal, outcome=outcome)
        retry_after = exc.retry_after if isinstance(exc, RetryableFailure) else None
        change = ctx.breakers.record(
            job.provider, job.key_id, outcome, retry_after_s=retry_after, detail=exc.message[:160]
        )
        if change.opened_now:
            log.warning(
                "%s key %s circuit open: %s",
                job.provider,
                job.key_id,
                describe(change.after, ctx.breakers.clock()),
                extra={"provider": str(job.provider), "key_id": job.key_id},
            )
        blocked = change.after.effective(ctx.breakers.clock()) is not CircuitState.CLOSED
        return replace(refusal, blocked=blocked, outcome=outcome)


class LimiterHook(SubmitHook):
    """The key's concurrency slot and request rate (`jobs.limits.limiter`)."""

    def before_submit(
        self, ctx: Context, job: Job, key: str, now: datetime, resend: bool
    ) -> Veto | None:
        grant = ctx.limiter.acquire_slot(
            job.provider,
            key,
            job.id,
            ctx.limits(job.provider, key),
            ctx.slot_lease_s(),
            batch=job.batch,
            priority=job.priority,
            hold_guess_s=ctx.spec(job.provider).typical_duration_s,
        )
        if grant.allowed:
            return None
        reason = f"limiter: {grant.reason}"
        if not grant.parked:
            return Then(Step.SUBMIT, grant.retry_after_s, reason)
        recheck = PARKED_RECHECK.after(grant.retry_after_s)
        return Done(f"{reason}; parked until a slot is handed over", recheck_s=recheck)

    def give_back(self, ctx: Context, job: Job, key: str, lost_claim: bool, resend: bool) -> None:
        if lost_claim and resend:
            return  # the message that won the reconciliation holds this job's slot now
        ctx.limiter.release(job.provider, key, job.id)

    def after_accepted(
        self, ctx: Context, job: Job, now: datetime, remote: RemoteJob
    ) -> tuple[Handover, ...]:
        assert job.key_id is not None
        ctx.limiter.on_success(job.provider, job.key_id, ctx.limits(job.provider, job.key_id))
        return ()

    def after_refused(
        self, ctx: Context, job: Job, exc: ProviderFailure, refusal: Refusal
    ) -> Refusal:
        assert job.key_id is not None
        ctx.limiter.release(job.provider, job.key_id, job.id)
        # An open circuit already stops the key's submits (for the Retry-After when one came);
        # a limiter cooldown would stop its polls too, and a daily cap is no request rate.
        if (
            isinstance(exc, RetryableFailure)
            and exc.throttles_key
            and not refusal.blocked
            and not isinstance(exc, DailyCap)
        ):
            limits = ctx.limits(job.provider, job.key_id)
            ctx.limiter.on_throttled(job.provider, job.key_id, limits, exc.retry_after)
        return refusal


class BudgetHook(SubmitHook):
    """The batch budget: reserved per attempt, committed once the provider may charge."""

    def before_submit(
        self, ctx: Context, job: Job, key: str, now: datetime, resend: bool
    ) -> Veto | None:
        if resend:
            # The dead try's reservation may have been spent; the re-send needs one of its own.
            ctx.budget.commit(job.batch, job.estimated_cost_usd)
        if ctx.budget.reserve(job.batch, job.estimated_cost_usd):
            return None
        if resend:
            message = "the batch budget cannot pay for a re-send that may be a second charge"
            return Failure(FailureKind.BUDGET, message, "over budget")
        return Failure(FailureKind.BUDGET, "the batch budget would be exceeded", "over budget")

    def give_back(self, ctx: Context, job: Job, key: str, lost_claim: bool, resend: bool) -> None:
        ctx.budget.release(job.batch, job.estimated_cost_usd)

    def after_accepted(
        self, ctx: Context, job: Job, now: datetime, remote: RemoteJob
    ) -> tuple[Handover, ...]:
        accepted_spend(ctx, job, now, remote.replayed, remote.estimated_cost_usd)
        return ()

    def after_refused(
        self, ctx: Context, job: Job, exc: ProviderFailure, refusal: Refusal
    ) -> Refusal:
        if isinstance(exc, AnswerLost):
            # The POST may have been paid for: its money counts as spent.
            accepted_spend(ctx, job, utcnow())
        else:
            ctx.budget.release(job.batch, job.estimated_cost_usd)
        return refusal


class CallbackHook(SubmitHook):
    """crun's callback: a URL naming the job goes with the POST, and polls become a backstop."""

    def adapter(self, ctx: Context, job: Job, adapter: ProviderAdapter) -> ProviderAdapter:
        return with_callback(ctx, job, adapter)

    def poll_delay(self, ctx: Context, job: Job, delay_s: float) -> float:
        return backstop_delay(ctx, job, delay_s)


HOOKS: tuple[SubmitHook, ...] = (
    DailyCapHook(),
    BreakerHook(),
    LimiterHook(),
    BudgetHook(),
    CallbackHook(),
)
"""In order: ``before_submit`` stops at the first veto, so a parked job reserves no budget."""


def before_submit(ctx: Context, job: Job, key: str, now: datetime, resend: bool) -> Decision | None:
    """Run every hook's ``before_submit``; on a veto, give back what the earlier ones took."""
    for index, hook in enumerate(HOOKS):
        veto = hook.before_submit(ctx, job, key, now, resend)
        if veto is None:
            continue
        for earlier in reversed(HOOKS[:index]):
            earlier.give_back(ctx, job, key, lost_claim=False, resend=resend)
        if isinstance(veto, Failure):
            fail_job(ctx, job, now, veto.kind, veto.message)
            return Done(veto.reason)
        return veto
    return None


def give_back(ctx: Context, job: Job, key: str, resend: bool) -> None:
    """Another message claimed the job first: give back what every hook took."""
    for hook in HOOKS:
        hook.give_back(ctx, job, key, lost_claim=True, resend=resend)


def adapter_for(ctx: Context, job: Job) -> ProviderAdapter:
    """The adapter the claimed ``job``'s POST goes through."""
    assert job.key_id is not None
    adapter = ctx.adapter(job.provider, job.key_id)
    for hook in HOOKS:
        adapter = hook.adapter(ctx, job, adapter)
    return adapter


def after_accepted(
    ctx: Context, job: Job, now: datetime, remote: RemoteJob
) -> tuple[Handover, ...]:
    """Every hook's bookkeeping of an accepted POST; the jobs to send submits for now."""
    return tuple(
        handover for hook in HOOKS for handover in hook.after_accepted(ctx, job, now, remote)
    )


def poll_delay(ctx: Context, job: Job, delay_s: float) -> float:
    """The submitted job's first poll delay, through every hook."""
    for hook in HOOKS:
        delay_s = hook.poll_delay(ctx, job, delay_s)
    return delay_s


def after_refused(ctx: Context, job: Job, exc: ProviderFailure) -> Refusal:
    """Every hook's bookkeeping of a failed POST; what it means for the job."""
    refusal = Refusal(clean=refused_before_acceptance(exc))
    for hook in HOOKS:
        refusal = hook.after_refused(ctx, job, exc, refusal)
    return refusal
