"""Routing at submit time: which provider and key a job submits on now, or how it waits.

Before each attempt `route` picks them from the job's route (`Job.route`), the keys whose
circuit breaker lets a submit through (`pipeline.routing.survey`), and the job's `Policy` over
live limiter state. A job moves only while no remote job can exist for it: it was never sent,
or its last submit was refused before acceptance (`providers.errors.RefusedBeforeAcceptance`),
or its remote job FAILED. A job one of whose submits may have been accepted
(`Job.remote_possible`) stays on its provider and key, whatever their circuit says. Each move
is appended to `Job.moves` with its reason; the budget is reserved per attempt, so it follows
at the new price. With nowhere to go, the job waits (`pipeline.routing.outages`).

A job of one provider never reaches `pipeline.routing.failover` (moves between providers).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime

from config.settings import ProviderName
from jobs.clips.record import Clip
from jobs.delays import OUTAGE_WAIT
from jobs.limits.breaker import Circuit, CircuitState, describe
from jobs.limits.limiter import Handover
from jobs.models import Job
from jobs.routes import Policy, choose
from jobs.states import JobState
from pipeline.context import Context
from pipeline.decisions import Decision, Done, Step, Then
from pipeline.routing import failover
from pipeline.routing.outages import deadline_of, give_up, wait_out
from pipeline.routing.pooling import handed_option, holds_slot, stop_waiting_for_any
from pipeline.routing.slots import hand_over_free_slots
from pipeline.routing.survey import Survey, survey_of

log = logging.getLogger(__name__)

MAX_MOVES_KEPT = 10


@dataclass(frozen=True)
class Route:
    """Routing's one answer. With ``job``: submit it now, on its provider and key. Without,
    ``then`` is what the step does instead: a `Then` when the job holds an open circuit's timer
    (or another job took the probe), a `Done` with a recheck when it waits on a list without a
    message, a plain `Done` when it failed or moved meanwhile.

    ``handovers``: parked jobs handed the slots of a key the job left; ``alternatives``: another
    provider or key was ready too (a limiter wait on this one is cut short).
    """

    job: Job | None = None
    then: Decision = field(default_factory=Done)
    handovers: tuple[Handover, ...] = ()
    alternatives: bool = False


def route(ctx: Context, job: Job, now: datetime) -> Route:
    """Pick the provider and key ``job`` submits on now, or say why and how it waits."""
    clock = ctx.breakers.clock()
    several = len(job.route) > 1
    clip = failover.moving_together(ctx, job) if several else None
    survey = survey_of(ctx, job, clock, now, clip)
    if now >= deadline_of(ctx, job) and job.state is JobState.RETRY_WAIT:
        return Route(then=give_up(ctx, job, now, survey, clock))
    if job.remote_possible:
        # A submit may have been accepted: only the same key, with the same idempotency key.
        return Route(job)
    others = sum(len(keys) for keys in survey.keys.values()) > 1
    if _stays(ctx, job, survey, several):
        if several:
            stop_waiting_for_any(ctx, job.id)  # it may have been handed a slot while pooled
        return Route(job, alternatives=others)
    return replace(_choose(ctx, job, now, survey, clock, clip), alternatives=others)


def _choose(
    ctx: Context, job: Job, now: datetime, survey: Survey, clock: float, clip: Clip | None
) -> Route:
    """The provider and key the job's policy picks now, the job moved there; or how it waits."""
    # A job handed a freed slot binds to it (pooling.handed_option); others ask the policy.
    picked = handed_option(ctx, job, survey.options) or choose(Policy(job.policy), survey.options)
    if picked is None:
        return Route(then=wait_out(ctx, job, now, survey, clock))
    if picked.load >= 1 and len(survey.options) > 1:
        return Route(then=failover.wait_for_any_slot(ctx, job, now, survey.options))
    if len(job.route) > 1:
        stop_waiting_for_any(ctx, job.id)
    provider = picked.provider
    keys = survey.keys[provider]
    limits = ctx.limits(provider)
    key = ctx.limiter.pick_key(provider, keys, {k: limits for k in keys})
    if not ctx.breakers.admit(provider, key, job.id):
        wait = OUTAGE_WAIT.probe_taken_s
        return Route(then=Then(Step.SUBMIT, wait, "another job took the circuit's probe"))
    ctx.breakers.stop_waiting(job.id)
    moved = _move(ctx, job, now, provider, key, picked.price_usd, survey, clock)
    if moved.job is None:
        return moved
    if clip is not None and clip.provider != provider:
        failover.move_clip(ctx, clip, provider, survey, clock, now)
    return moved


def _stays(ctx: Context, job: Job, survey: Survey, several: bool) -> bool:
    """Whether ``job`` submits on the key it has: still usable and admitted by its circuit. A
    job with several providers to go to is bound to a key only while it holds its slot."""
    if job.key_id is None or (several and not holds_slot(ctx, job)):
        return False
    if job.key_id not in survey.keys.get(job.provider, []):
        return False
    return ctx.breakers.admit(job.provider, job.key_id, job.id)


def _move(
    ctx: Context,
    job: Job,
    now: datetime,
    provider: ProviderName,
    key: str,
    price: float,
    survey: Survey,
    clock: float,
) -> Route:
    if (job.provider, job.key_id) == (provider, key):
        return Route(job)
    changes: dict[str, object] = {"provider": provider, "key_id": key}
    if provider != job.provider:
        changes["estimated_cost_usd"] = price
    left = job.key_id is not None
    if left:
        assert job.key_id is not None
        circuit = survey.circuits.get((job.provider, job.key_id), Circuit())
        why = _why_left(ctx, job, circuit, clock)
        if why is not None:
            line = f"{now:%H:%M:%S} {job.provider}/{job.key_id} -> {provider}/{key}: {why}"
            changes["moves"] = (*job.moves, line)[-MAX_MOVES_KEPT:]
    moved = ctx.ledger.update(job, expect=job.state, now=now, **changes)
    if moved is None:
        return Route(then=Done("job moved while routing"))
    if not left:
        return Route(moved)
    assert job.key_id is not None
    if "moves" in changes:
        log.warning(
            "job %s moved: %s",
            job.id,
            moved.moves[-1],
            extra={"job_id": job.id, "provider": str(provider), "key_id": key},
        )
    # The key it left may have handed it a slot: give it back, and to whoever waits there.
    ctx.limiter.release(job.provider, job.key_id, job.id)
    return Route(moved, handovers=tuple(hand_over_free_slots(ctx, job.provider, job.key_id)))


def _why_left(ctx: Context, job: Job, circuit: Circuit, clock: float) -> str | None:
    """Why the job leaves its key: its circuit, or a cooldown the provider asked for. None
    when it only waited for a slot and takes a freer key now (not a failover, not kept)."""
    if circuit.effective(clock) is not CircuitState.CLOSED:
        return describe(circuit, clock)
    assert job.key_id is not None
    cooling = ctx.limiter.cooldown_remaining(job.provider, job.key_id)
    return f"cooling down for {cooling:.0f}s more (Retry-After)" if cooling > 0 else None


def sooner(wait: Decision, route: Route) -> Decision:
    """A limiter's wait (a key's cooldown) cut short when the job could go elsewhere: it comes
    back at once and `route` sends it to a key that is ready."""
    if (
        route.alternatives
        and isinstance(wait, Then)
        and wait.step is Step.SUBMIT
        and wait.countdown_s > OUTAGE_WAIT.reroute_after_s
    ):
        return replace(wait, countdown_s=OUTAGE_WAIT.reroute_after_s)
    return wait
