"""Waiting out an outage: with nowhere to submit, a job waits until its deadline
(created + ``RESTYLE_JOB_DEADLINE_S``), then fails with the cause its circuits share.

One job per open circuit holds its timer and comes back when the cooldown ends, as its probe;
the others wait on `Breakers`' list without any message, and the submit that closes a circuit
hands them back (`pipeline.submission.hooks.BreakerHook`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from jobs.delays import OUTAGE_WAIT
from jobs.failures import FailureKind
from jobs.limits.breaker import Circuit, CircuitState, Outcome
from jobs.models import Job
from jobs.timing import MAX_COUNTDOWN_S
from pipeline.context import Context
from pipeline.decisions import Decision, Done, Step, Then
from pipeline.failing import fail_job
from pipeline.routing.survey import Survey

GIVE_UP_KINDS = {
    Outcome.CREDITS: FailureKind.CREDITS,
    Outcome.DAILY_CAP: FailureKind.CREDITS,
    Outcome.AUTH: FailureKind.AUTH,
}


def deadline_of(ctx: Context, job: Job) -> datetime:
    """When a job that could not be submitted gives up: its creation plus the job deadline."""
    return job.created_at + timedelta(seconds=ctx.settings.job_deadline_s)


def wait_out(ctx: Context, job: Job, now: datetime, survey: Survey, clock: float) -> Decision:
    """How ``job`` waits with nowhere to go: a `Then` when it holds an open circuit's timer, a
    `Done` with a recheck when it waits on the outage list; failed past its deadline."""
    deadline = deadline_of(ctx, job)
    if now >= deadline:
        return give_up(ctx, job, now, survey, clock)
    left = (deadline - now).total_seconds()
    reason = f"waiting out an outage until {deadline:%H:%M:%S}: {survey.states(clock)}"
    opened = sorted(
        (circuit.until, pair)
        for pair, circuit in survey.circuits.items()
        if circuit.effective(clock) is CircuitState.OPEN
    )
    if opened:
        until, (provider, key) = opened[0]
        wait = max(until - clock, 0.0) + OUTAGE_WAIT.timer_slack_s
        ttl = wait + ctx.call_grace().total_seconds()
        if ctx.breakers.claim_timer(provider, key, job.id, ttl):
            return Then(Step.SUBMIT, min(wait, left, MAX_COUNTDOWN_S), reason)
    ctx.breakers.wait(job.id, deadline.timestamp())
    recheck = min(left, OUTAGE_WAIT.recheck_max_s) + OUTAGE_WAIT.timer_slack_s
    return Done(reason, recheck_s=recheck)


def give_up_kind(circuits: Sequence[Circuit], now: float) -> FailureKind:
    """What a job that could go nowhere failed of: credits or auth when every circuit that
    stopped it says so, else the providers' unavailability."""
    causes = {
        circuit.cause for circuit in circuits if circuit.effective(now) is not CircuitState.CLOSED
    }
    if len(causes) == 1 and (cause := causes.pop()) is not None:
        return GIVE_UP_KINDS.get(cause, FailureKind.PROVIDER_UNAVAILABLE)
    return FailureKind.PROVIDER_UNAVAILABLE


def give_up(ctx: Context, job: Job, now: datetime, survey: Survey, clock: float) -> Done:
    """Fail ``job``, which no provider took within its deadline, with the states it saw."""
    ctx.breakers.stop_waiting(job.id)
    message = (
        f"no provider took it within its deadline ({ctx.settings.job_deadline_s:g} s after it "
        f"was queued); provider states: {survey.states(clock)}"
    )
    kind = give_up_kind(list(survey.circuits.values()), clock)
    fail_job(ctx, job, now, kind, message)
    return Done("deadline passed while waiting out an outage")
