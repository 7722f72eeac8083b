"""Per-key limits a provider reports (Runway's tier) and the rolling daily generation cap.

A key's tier is read from the provider at worker start and by ``restyle limits`` and kept in
Redis for every worker; where none was read, the catalogue's values stand. The daily cap
counts this restyle's generations per key in a rolling window (a sorted set of submit times):
a key at its cap parks new submits until the oldest generation leaves the window.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import redis

from jobs import redis_keys


@dataclass(frozen=True)
class KeyTier:
    """What a provider says one key may do (Runway's ``GET /v1/organization``); None: no limit
    or not said."""

    concurrency: int | None = None
    daily_generations: int | None = None
    used_today: int = 0
    credit_balance: int | None = None


def seeded(
    reported: int | None, setting: int | None, catalogue: int | None, read: bool
) -> tuple[int | None, str]:
    """One limit of a key and where it came from (pure): what the provider reported, else (it
    reported null, as Runway's organization endpoint may now, or was not read) the user's
    ``RESTYLE_<P>__...`` setting, else the catalogue's tier-1 value."""
    if reported is not None:
        return reported, "provider"
    said = " (provider: null)" if read else ""
    if setting is not None:
        return setting, f"your setting{said}"
    return catalogue, f"catalogue{said}"


DAILY_WINDOW_S = 24 * 3600.0
"""Runway's daily cap is a rolling 24 h window."""
TIER_TTL_S = 7 * 24 * 3600


def daily_cap_wait_s(
    times: Sequence[float], cap: int | None, now: float, window_s: float = DAILY_WINDOW_S
) -> float | None:
    """Seconds until a key that generated at ``times`` may generate again; None: it may now.

    ``cap`` None means no cap. Pure: ``times`` are epoch seconds, any order.
    """
    if cap is None:
        return None
    inside = sorted(at for at in times if at > now - window_s)
    if len(inside) < cap:
        return None
    # The (len - cap + 1)-th oldest must leave the window before one more fits.
    return max(inside[len(inside) - cap] + window_s - now, 0.0)


class TierStore:
    """Reported tiers and daily generation counts per (provider, key), shared in Redis."""

    def __init__(self, client: redis.Redis[bytes]) -> None:
        self.client = client

    def save(self, provider: str, key_id: str, tier: KeyTier) -> None:
        """Keep ``tier`` as the key's reported limits."""
        body = json.dumps(tier.__dict__)
        self.client.set(redis_keys.limiter("tier", provider, key_id), body, ex=TIER_TTL_S)

    def load(self, provider: str, key_id: str) -> KeyTier | None:
        """The key's reported limits, or None when none were read."""
        raw = self.client.get(redis_keys.limiter("tier", provider, key_id))
        return None if raw is None else KeyTier(**json.loads(raw))

    def record_generation(self, provider: str, key_id: str, job_id: str, now: float) -> None:
        """Count one paid generation of the key (once per job id and time)."""
        name = redis_keys.limiter("daily", provider, key_id)
        pipe = self.client.pipeline(transaction=True)
        pipe.zadd(name, {f"{job_id}:{now}": now})
        pipe.zremrangebyscore(name, "-inf", now - DAILY_WINDOW_S)
        pipe.expire(name, int(DAILY_WINDOW_S) + 60)
        pipe.execute()

    def generation_count(self, provider: str, key_id: str, now: float) -> int:
        """How many generations the key made in the last window (one ZCOUNT, no payload)."""
        name = redis_keys.limiter("daily", provider, key_id)
        return int(self.client.zcount(name, now - DAILY_WINDOW_S, "+inf"))

    def generation_times(self, provider: str, key_id: str, now: float) -> list[float]:
        """When the key's generations of the last window were made."""
        name = redis_keys.limiter("daily", provider, key_id)
        found = self.client.zrangebyscore(name, now - DAILY_WINDOW_S, "+inf", withscores=True)
        return [float(score) for _, score in found]
