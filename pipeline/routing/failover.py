"""Routing at submit time, failover that never pays twice, and waiting out outages.

Before each attempt `route` picks the provider and key a job submits on: from its route
(`Job.route`), the keys whose circuit breaker lets a submit through, and the job's `Policy`
over live limiter state. A job moves only while no remote job can exist for it: it was never
sent, or its last submit was refused before acceptance (`refused_before_acceptance`), or its
remote job FAILED. A job one of whose submits may have been accepted (`Job.remote_possible`)
stays on its provider and key, whatever their circuit says. Each move is appended to
`Job.moves` with its reason; the budget is reserved per attempt, so it follows at the new price.

With nowhere to go, a job waits until its deadline (created + ``RESTYLE_JOB_DEADLINE_S``):
one job per open circuit holds its timer and comes back when the cooldown ends, as its probe;
the others wait on `Breakers`' list without any message, and the submit that closes a circuit
hands them back (`accepted`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from config.settings import ProviderName
from jobs.clips.record import Clip
from jobs.failures import FailureKind
from jobs.limits.breaker import Circuit, CircuitState, Outcome, describe
from jobs.limits.limiter import Handover
from jobs.models import Job
from jobs.routes import Option, Policy, choose, quote
from jobs.states import JobState
from jobs.timing import MAX_COUNTDOWN_S
from pipeline.context import Context
from pipeline.decisions import Decision, Done, Step, Then
from pipeline.failing import fail_job
from pipeline.routing.breaker_outcomes import breaker_outcome
from pipeline.routing.daily_caps import daily_cap_wait
from pipeline.routing.pooling import (
    POOL_RECHECK_S,
    handed_option,
    holds_slot,
    stop_waiting_for_any,
    unpark,
    wait_for_any,
)
from pipeline.routing.slots import hand_over_free_slots
from providers.errors import FatalFailure, ProviderFailure, RetryableFailure

log = logging.getLogger(__name__)

REFUSED_STATUSES = frozenset({401, 402, 403, 406, 429, 455, 502, 503, 504})
"""Answers that create no remote job: refused at the door (auth, credits, busy, down)."""
WAIT_RECHECK_MAX_S = 3600.0
TIMER_SLACK_S = 0.05
MAX_MOVES_KEPT = 10
REROUTE_AFTER_S = 0.5


def refused_before_acceptance(exc: ProviderFailure) -> bool:
    """True when the submit certainly created no remote job (so the job may go elsewhere).

    A timeout, a dropped connection or an unreadable answer may hide an accepted job: False.
    """
    return isinstance(exc, FatalFailure) or exc.status_code in REFUSED_STATUSES


@dataclass(frozen=True)
class Routed:
    """Where the job submits now; ``handovers``: parked jobs handed the slots of a key it left;
    ``alternatives``: another provider or key was ready too."""

    job: Job
    handovers: tuple[Handover, ...] = ()
    alternatives: bool = False


@dataclass(frozen=True)
class Waiting:
    """Nowhere to submit now. ``countdown_s``: this job holds a circuit's timer and comes back
    then; None: it waits on the outage list, woken when a circuit closes."""

    reason: str
    countdown_s: float | None
    recheck_s: float


def deadline_of(ctx: Context, job: Job) -> datetime:
    """When a job that could not be submitted gives up: its creation plus the job deadline."""
    return job.created_at + timedelta(seconds=ctx.settings.job_deadline_s)


def _usable(circuit: Circuit, holder: str, now: float) -> bool:
    state = circuit.effective(now)
    if state is CircuitState.CLOSED:
        return True
    if state is CircuitState.OPEN:
        return False
    return not circuit.probe or circuit.probe == holder or now >= circuit.probe_until


@dataclass(frozen=True)
class _Survey:
    options: list[Option]
    keys: dict[ProviderName, list[str]]
    circuits: dict[tuple[ProviderName, str], Circuit]
    capped: bool = False
    """Every key on offer has made its known daily cap: hours, not seconds, before one serves."""


@dataclass(frozen=True)
class _Offer:
    option: Option
    keys: list[str]
    cooling: bool
    capped: bool


def _offer(ctx: Context, job: Job, provider: ProviderName, keys: list[str], now: float) -> _Offer:
    """What ``provider``'s usable ``keys`` offer the job. Keys the limiter holds in a cooldown
    (a Retry-After), or that made their known daily cap, are left out while another has none."""
    limits = ctx.limits(provider)
    loads = ctx.limiter.loads(provider, keys, {key: limits for key in keys})
    capped = {key for key in keys if daily_cap_wait(ctx, provider, key, now) is not None}
    ready = [key for key in keys if loads[key].cooldown_s <= 0 and key not in capped]
    spec = ctx.spec(provider)
    chosen = ready or keys
    queued = sum(loads[key].in_flight + loads[key].parked for key in chosen)
    # The whole job on this provider: the runs its window needs (a segment is one run).
    price = quote(spec, job.source_seconds or spec.output_seconds).cost_usd
    option = Option(provider, price, spec.typical_duration_s,
                    limits.concurrency * len(chosen), queued)  # fmt: skip
    return _Offer(option, chosen, cooling=not ready, capped=capped >= set(keys))


def _survey(
    ctx: Context, job: Job, now: float, at: datetime, providers: Sequence[ProviderName]
) -> _Survey:
    """``now``: the breakers' clock; ``at``: the job's (daily caps count on it)."""
    offers: list[_Offer] = []
    circuits: dict[tuple[ProviderName, str], Circuit] = {}
    for provider in providers:
        pool = ctx.key_ids(provider)
        found = ctx.breakers.get_many([(provider, key) for key in pool])
        circuits.update({(provider, key): c for key, c in zip(pool, found, strict=True)})
        keys = [key for key, c in zip(pool, found, strict=True) if _usable(c, job.id, now)]
        if keys:
            offers.append(_offer(ctx, job, provider, keys, at.timestamp()))
    # A provider whose every key cools down is a choice only when no other is ready.
    ready = [offer for offer in offers if not offer.cooling] or offers
    return _Survey(
        [offer.option for offer in ready],
        {offer.option.provider: offer.keys for offer in ready},
        circuits,
        capped=bool(ready) and all(offer.capped for offer in ready),
    )


def _survey_of(ctx: Context, job: Job, clock: float, now: datetime, clip: Clip | None) -> _Survey:
    """What the job may choose from. A segment that moves with its clip sees only its clip's
    provider while that has a key to take it (busy or cooling down): segments leave together,
    and only when it cannot serve (open circuits, or every key at its daily cap)."""
    wider = job.route or (job.provider,)
    if clip is None:
        return _survey(ctx, job, clock, now, wider)
    own = _survey(ctx, job, clock, now, (clip.provider,))
    if own.options and not own.capped:
        return own
    others = _survey(ctx, job, clock, now, wider)
    # Every provider at its cap: the clip stays where it is rather than move for nothing.
    return own if own.options and others.capped else others


def _states(survey: _Survey, now: float) -> str:
    parts = [f"{p}/{key}: {describe(c, now)}" for (p, key), c in survey.circuits.items()]
    return "; ".join(parts) or "no API key configured"


def route(ctx: Context, job: Job, now: datetime) -> Routed | Waiting | Done:
    """Pick the provider and key ``job`` submits on now, or say why and how it waits."""
    clock = ctx.breakers.clock()
    clip = moving_together(ctx, job)
    survey = _survey_of(ctx, job, clock, now, clip)
    if now >= deadline_of(ctx, job) and job.state is JobState.RETRY_WAIT:
        return _give_up(ctx, job, now, survey, clock)
    if job.remote_possible:
        # A submit may have been accepted: only the same key, with the same idempotency key.
        return Routed(job)
    current = (job.provider, job.key_id) if job.key_id is not None else None
    others = sum(len(keys) for keys in survey.keys.values()) > 1
    # A job with several providers to go to is bound to a key only while it holds its slot.
    bound = len(job.route) <= 1 or holds_slot(ctx, job)
    if (
        current is not None
        and bound
        and current[1] in survey.keys.get(job.provider, [])
        and ctx.breakers.admit(job.provider, current[1], job.id)
    ):
        if len(job.route) > 1:
            stop_waiting_for_any(ctx, job.id)  # it may have been handed a slot while pooled
        return Routed(job, alternatives=others)
    # A job handed a freed slot binds to it (pooling.handed_option); others ask the policy.
    picked = handed_option(ctx, job, survey.options) or choose(Policy(job.policy), survey.options)
    if picked is None:
        return _wait(ctx, job, now, survey, clock)
    if picked.load >= 1 and len(survey.options) > 1:
        # Every provider is full: wait for the first key that frees rather than park on one.
        wait_for_any(ctx, job, now)
        full = ", ".join(f"{o.provider} {o.queued}/{o.capacity}" for o in survey.options)
        return Waiting(f"every key is full ({full}); waiting for a free slot", None, POOL_RECHECK_S)
    stop_waiting_for_any(ctx, job.id)
    provider = picked.provider
    keys = survey.keys[provider]
    limits = ctx.limits(provider)
    key = ctx.limiter.pick_key(provider, keys, {k: limits for k in keys})
    if not ctx.breakers.admit(provider, key, job.id):
        return Waiting("another job took the circuit's probe", 1.0, 1.0 + TIMER_SLACK_S)
    ctx.breakers.stop_waiting(job.id)
    moved = _move(ctx, job, now, provider, key, picked.price_usd, survey, clock)
    if not isinstance(moved, Routed):
        return moved
    if clip is not None and clip.provider != provider:
        _move_clip(ctx, clip, provider, survey, clock, now)
    return replace(moved, alternatives=others)


def moving_together(ctx: Context, job: Job) -> Clip | None:
    """The clip of a segment that fails over with its clip's other segments (None: the job
    routes on its own: not a segment, pinned, or its clip lets segments mix providers)."""
    if job.clip_id is None or len(job.route) <= 1:
        return None
    clip = ctx.clips.get(job.clip_id)
    if clip is None or clip.mix_providers:
        return None
    return clip


def _move_clip(
    ctx: Context, clip: Clip, provider: ProviderName, survey: _Survey, clock: float, now: datetime
) -> None:
    """Send the clip's unsubmitted segments after the first one that left its provider."""
    states = "; ".join(
        f"{key}: {describe(circuit, clock)}"
        for (name, key), circuit in survey.circuits.items()
        if name == clip.provider
    )
    why = f"segments fail over {clip.provider} -> {provider}: {states or 'no key'}"
    moved = ctx.clips.move(clip, clip.state, expect={clip.state}, now=now, detail=why,
                           provider=provider)  # fmt: skip
    if moved is not None:
        log.warning("clip %s: %s", clip.id, why, extra={"clip_id": clip.id})


def _move(
    ctx: Context,
    job: Job,
    now: datetime,
    provider: ProviderName,
    key: str,
    price: float,
    survey: _Survey,
    clock: float,
) -> Routed | Done:
    if (job.provider, job.key_id) == (provider, key):
        return Routed(job)
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
        return Done("job moved while routing")
    if not left:
        return Routed(moved)
    assert job.key_id is not None
    if "moves" in changes:
        log.warning(
            "job %s moved: %s", job.id, moved.moves[-1],
            extra={"job_id": job.id, "provider": str(provider), "key_id": key},
        )  # fmt: skip
    # The key it left may have handed it a slot: give it back, and to whoever waits there.
    ctx.limiter.release(job.provider, job.key_id, job.id)
    return Routed(moved, tuple(hand_over_free_slots(ctx, job.provider, job.key_id)))


def _why_left(ctx: Context, job: Job, circuit: Circuit, clock: float) -> str | None:
    """Why the job leaves its key: its circuit, or a cooldown the provider asked for. None
    when it only waited for a slot and takes a freer key now (not a failover, not kept)."""
    if circuit.effective(clock) is not CircuitState.CLOSED:
        return describe(circuit, clock)
    assert job.key_id is not None
    cooling = ctx.limiter.cooldown_remaining(job.provider, job.key_id)
    return f"cooling down for {cooling:.0f}s more (Retry-After)" if cooling > 0 else None


def _wait(ctx: Context, job: Job, now: datetime, survey: _Survey, clock: float) -> Waiting | Done:
    deadline = deadline_of(ctx, job)
    states = _states(survey, clock)
    if now >= deadline:
        return _give_up(ctx, job, now, survey, clock)
    left = (deadline - now).total_seconds()
    reason = f"waiting out an outage until {deadline:%H:%M:%S}: {states}"
    opened = sorted(
        (circuit.until, pair)
        for pair, circuit in survey.circuits.items()
        if circuit.effective(clock) is CircuitState.OPEN
    )
    if opened:
        until, (provider, key) = opened[0]
        wait = max(until - clock, 0.0) + TIMER_SLACK_S
        ttl = wait + ctx.call_grace().total_seconds()
        if ctx.breakers.claim_timer(provider, key, job.id, ttl):
            countdown = min(wait, left, MAX_COUNTDOWN_S)
            return Waiting(reason, countdown, countdown)
    ctx.breakers.wait(job.id, deadline.timestamp())
    return Waiting(reason, None, min(left, WAIT_RECHECK_MAX_S) + TIMER_SLACK_S)


GIVE_UP_KINDS = {
    Outcome.CREDITS: FailureKind.CREDITS,
    Outcome.DAILY_CAP: FailureKind.CREDITS,
    Outcome.AUTH: FailureKind.AUTH,
}


def give_up_kind(circuits: Sequence[Circuit], now: float) -> FailureKind:
    """What a job that could go nowhere failed of: credits or auth when every circuit that
    stopped it says so, else the providers' unavailability."""
    causes = {
        circuit.reason.partition(":")[0]
        for circuit in circuits
        if circuit.effective(now) is not CircuitState.CLOSED
    }
    if len(causes) == 1 and (cause := causes.pop()) in set(Outcome):
        return GIVE_UP_KINDS.get(Outcome(cause), FailureKind.PROVIDER_UNAVAILABLE)
    return FailureKind.PROVIDER_UNAVAILABLE


def _give_up(ctx: Context, job: Job, now: datetime, survey: _Survey, clock: float) -> Done:
    ctx.breakers.stop_waiting(job.id)
    message = (
        f"no provider took it within its deadline ({ctx.settings.job_deadline_s:g} s after it "
        f"was queued); provider states: {_states(survey, clock)}"
    )
    kind = give_up_kind(list(survey.circuits.values()), clock)
    fail_job(ctx, job, now, kind, message)
    return Done("deadline passed while waiting out an outage")


@dataclass(frozen=True)
class Refused:
    """What a failed submit means for routing: ``clean`` (no remote job can exist) and
    ``blocked`` (the key's circuit now refuses submits)."""

    clean: bool
    blocked: bool
    outcome: Outcome | None = None


def note_refusal(ctx: Context, job: Job, exc: ProviderFailure) -> Refused:
    """Feed a failed submit to the key's circuit breaker; say whether the job may move."""
    clean = refused_before_acceptance(exc)
    outcome = breaker_outcome(exc, ctx.spec(job.provider).rate_limit_is_daily_cap)
    if outcome is None or job.key_id is None:
        return Refused(clean, False, outcome)
    retry_after = exc.retry_after if isinstance(exc, RetryableFailure) else None
    change = ctx.breakers.record(
        job.provider, job.key_id, outcome, retry_after_s=retry_after, detail=exc.message[:160]
    )
    if change.opened_now:
        log.warning(
            "%s key %s circuit open: %s", job.provider, job.key_id,
            describe(change.after, ctx.breakers.clock()),
            extra={"provider": str(job.provider), "key_id": job.key_id},
        )  # fmt: skip
    blocked = change.after.effective(ctx.breakers.clock()) is not CircuitState.CLOSED
    return Refused(clean, blocked, outcome)


def fatal_failover(ctx: Context, job: Job, now: datetime, exc: FatalFailure) -> Decision | None:
    """For a submit refused for credits, a daily cap or auth: back to RETRY_WAIT to be re-routed
    (or to wait for a top-up), instead of failing; None when the job should fail as before."""
    outcome = breaker_outcome(exc, ctx.spec(job.provider).rate_limit_is_daily_cap)
    note_refusal(ctx, job, exc)
    if outcome not in (Outcome.CREDITS, Outcome.DAILY_CAP, Outcome.AUTH) or job.remote_possible:
        return None  # an earlier submit may have been accepted: the job may not move
    if outcome is Outcome.AUTH and not _elsewhere(ctx, job):
        return None  # a key that is refused outright with nowhere else to go: fail now
    moved = ctx.ledger.transition(
        job,
        JobState.RETRY_WAIT,
        expect={JobState.SUBMITTING},
        now=now,
        detail=f"{type(exc).__name__}: {exc.message}; re-routing",
    )
    return Then(Step.SUBMIT, 0.0, f"re-route after {outcome}") if moved else Done("job moved")


def _elsewhere(ctx: Context, job: Job) -> bool:
    pairs = [(p, key) for p in job.route or (job.provider,) for key in ctx.key_ids(p)]
    return any(pair != (job.provider, job.key_id) for pair in pairs)


def accepted(ctx: Context, job: Job) -> tuple[Handover, ...]:
    """Feed an accepted submit to the breaker; if that closed a circuit, the waiting jobs."""
    assert job.key_id is not None
    change = ctx.breakers.record(job.provider, job.key_id, Outcome.SUCCESS)
    if not change.closed_now:
        return ()
    log.info(
        "%s key %s circuit closed", job.provider, job.key_id,
        extra={"provider": str(job.provider), "key_id": job.key_id},
    )  # fmt: skip
    waiting = [job_id for job_id in ctx.breakers.take_waiting() if job_id != job.id]
    return tuple(Handover(found.id, found.priority) for found in ctx.ledger.get_many(waiting))


def park_or_pool(ctx: Context, job: Job, parked_reason: str, now: datetime) -> str | None:
    """A job the limiter just parked on one key, when it may go to several providers: out of
    that queue and onto the pool-wide list. The new reason, or None to stay parked."""
    if len(job.route) <= 1 or moving_together(ctx, job) is not None:
        return None  # a segment waits for its clip's provider while that can serve
    current = ctx.ledger.get(job.id)
    if current is None or current.key_id is None:
        return None
    unpark(ctx, current)
    wait_for_any(ctx, current, now)
    return f"{parked_reason}; waiting for a free slot of any provider instead"


def sooner(decision: Decision, routed: Routed) -> Decision:
    """A limiter wait (a key's cooldown) cut short when the job could go elsewhere: it comes
    back at once and `route` sends it to a key that is ready."""
    if (
        routed.alternatives
        and isinstance(decision, Then)
        and decision.step is Step.SUBMIT
        and decision.reason.startswith("limiter:")
        and decision.countdown_s > REROUTE_AFTER_S
    ):
        return replace(decision, countdown_s=REROUTE_AFTER_S)
    return decision


def with_handovers(decision: Decision, handovers: Sequence[Handover]) -> Decision:
    """``decision`` with more jobs to send submits for."""
    if not handovers:
        return decision
    return replace(decision, handovers=decision.handovers + tuple(handovers))
