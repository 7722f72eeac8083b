"""The circuit breakers' state for `restyle providers` and `restyle limits`, in words."""

from __future__ import annotations

from collections.abc import Sequence

from cli.common import shown
from config.redis import RedisUnavailable, probe, redis_client
from config.settings import ProviderName, Settings
from jobs.limits.breaker import describe
from jobs.limits.breaker_store import Breakers


def breakers_or_none(settings: Settings) -> Breakers | None:
    """The breakers in Redis, or None when Redis cannot be reached (the listing goes on)."""
    try:
        probe(settings)
    except RedisUnavailable:
        return None
    return Breakers(redis_client(settings))


def circuit_text(breakers: Breakers | None, provider: ProviderName, key_ids: Sequence[str]) -> str:
    """Each key's circuit in one cell: ``closed``, or ``<key>: open for 20s more (why)``."""
    if breakers is None:
        return "? (Redis unreachable)"
    if not key_ids:
        return "-"
    now = breakers.clock()
    found = breakers.get_many([(provider, key) for key in key_ids])
    states = [describe(circuit, now) for circuit in found]
    if all(state == "closed" for state in states):
        return "closed"
    # The reason quotes the provider's own words: shown as written, never as markup or codes.
    return shown("; ".join(f"{key}: {state}" for key, state in zip(key_ids, states, strict=True)))
