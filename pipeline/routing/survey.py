"""What a job may choose from at submit time: each provider's usable keys and what they offer.

A key is usable while its circuit breaker lets a submit through; keys the limiter holds in a
cooldown (a Retry-After), or that made their known daily cap, are left out while another has
none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from config.settings import ProviderName
from jobs.clips.record import Clip
from jobs.limits.breaker import Circuit, CircuitState, describe
from jobs.models import Job
from jobs.routes import Option, quote
from pipeline.context import Context
from pipeline.routing.daily_caps import daily_cap_wait


@dataclass(frozen=True)
class Survey:
    """The options on offer, each provider's usable keys, and every key's circuit."""

    options: list[Option]
    keys: dict[ProviderName, list[str]]
    circuits: dict[tuple[ProviderName, str], Circuit]
    capped: bool = False
    """Every key on offer has made its known daily cap: hours, not seconds, before one serves."""

    def states(self, now: float) -> str:
        """Every key's circuit, for a message."""
        parts = [f"{p}/{key}: {describe(c, now)}" for (p, key), c in self.circuits.items()]
        return "; ".join(parts) or "no API key configured"


@dataclass(frozen=True)
class _Offer:
    option: Option
    keys: list[str]
    cooling: bool
    capped: bool


def usable(circuit: Circuit, holder: str, now: float) -> bool:
    """Whether ``holder`` may submit on a key with ``circuit`` (its probe, or no probe yet)."""
    state = circuit.effective(now)
    if state is CircuitState.CLOSED:
        return True
    if state is CircuitState.OPEN:
        return False
    return not circuit.probe or circuit.probe == holder or now >= circuit.probe_until


def _offer(ctx: Context, job: Job, provider: ProviderName, keys: list[str], now: float) -> _Offer:
    """What ``provider``'s usable ``keys`` offer the job."""
    limits = ctx.limits(provider)
    loads = ctx.limiter.loads(provider, keys, {key: limits for key in keys})
    capped = {key for key in keys if daily_cap_wait(ctx, provider, key, now) is not None}
    ready = [key for key in keys if loads[key].cooldown_s <= 0 and key not in capped]
    spec = ctx.spec(provider)
    chosen = ready or keys
    queued = sum(loads[key].in_flight + loads[key].parked for key in chosen)
    # The whole job on this provider: the runs its window needs (a segment is one run).
    price = quote(spec, job.source_seconds or spec.output_seconds).cost_usd
    option = Option(
        provider, price, spec.typical_duration_s, limits.concurrency * len(chosen), queued
    )
    return _Offer(option, chosen, cooling=not ready, capped=capped >= set(keys))


def survey(
    ctx: Context, job: Job, now: float, at: datetime, providers: Sequence[ProviderName]
) -> Survey:
    """``now``: the breakers' clock; ``at``: the job's (daily caps count on it)."""
    offers: list[_Offer] = []
    circuits: dict[tuple[ProviderName, str], Circuit] = {}
    for provider in providers:
        pool = ctx.key_ids(provider)
        found = ctx.breakers.get_many([(provider, key) for key in pool])
        circuits.update({(provider, key): c for key, c in zip(pool, found, strict=True)})
        keys = [key for key, c in zip(pool, found, strict=True) if usable(c, job.id, now)]
        if keys:
            offers.append(_offer(ctx, job, provider, keys, at.timestamp()))
    # A provider whose every key cools down is a choice only when no other is ready.
    ready = [offer for offer in offers if not offer.cooling] or offers
    return Survey(
        [offer.option for offer in ready],
        {offer.option.provider: offer.keys for offer in ready},
        circuits,
        capped=bool(ready) and all(offer.capped for offer in ready),
    )


def survey_of(ctx: Context, job: Job, clock: float, now: datetime, clip: Clip | None) -> Survey:
    """What the job may choose from. A segment that moves with its clip sees only its clip's
    provider while that has a key to take it (busy or cooling down): segments leave together,
    and only when it cannot serve (open circuits, or every key at its daily cap)."""
    wider = job.route or (job.provider,)
    if clip is None:
        return survey(ctx, job, clock, now, wider)
    own = survey(ctx, job, clock, now, (clip.provider,))
    if own.options and not own.capped:
        return own
    others = survey(ctx, job, clock, now, wider)
    # Every provider at its cap: the clip stays where it is rather than move for nothing.
    return own if own.options and others.capped else others
