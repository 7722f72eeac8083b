"""Reading one API key's limiter state without changing it: its limits, effective rate, window
pressure, load and cooldown, the choice of a key from a pool, and the snapshot that ``restyle
limits`` shows. `jobs.limits.limiter.Limiter` adds the scripts that change it."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from jobs import redis_keys
from jobs.models import Priority

DEFAULT_FLOOR_FRACTION = 0.1
RATE_MARGIN_S = 0.1
"""Added to the rate window: a call allowed here may reach the provider a little late."""


@dataclass(frozen=True)
class KeyLimits:
    """The configured limits of one API key; the floor defaults to 10% of the rate."""

    concurrency: int
    rate_per_s: float
    rate_floor_per_s: float | None = None

    @property
    def floor(self) -> float:
        floor = self.rate_floor_per_s or self.rate_per_s * DEFAULT_FLOOR_FRACTION
        return min(floor, self.rate_per_s)

    def rate_args(self) -> list[float]:
        return [self.rate_per_s, self.floor]


def rate_window(rate_per_s: float, ceiling_per_s: float) -> tuple[int, float]:
    """(calls allowed, seconds) at an effective rate, without the margin (as in the Lua):
    the provider's window at the ceiling, holding fewer calls at a lower rate."""
    base = max(1, math.floor(ceiling_per_s)) / ceiling_per_s
    capacity = math.floor(rate_per_s * base + 1e-9)
    return (capacity, base) if capacity >= 1 else (1, 1 / rate_per_s)


def _float(raw: Any, default: float = 0.0) -> float:
    return default if raw is None else float(raw)


@dataclass(frozen=True)
class KeyLoad:
    """What choosing a key needs to know of it: cooldown, live leases, parked holders, rate."""

    cooldown_s: float
    in_flight: int
    parked: int
    rate_pressure: float


class LimiterState:
    """The read side of the limiter, per (provider, key)."""

    def __init__(self, client: redis.Redis[bytes], clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.clock = clock

    def _keys(self, provider: str, key_id: str, *kinds: str) -> list[str]:
        return [redis_keys.limiter(kind, str(provider), key_id) for kind in kinds]

    def cooldown_remaining(self, provider: str, key_id: str) -> float:
        """Seconds left of the key's cooldown (0 when none)."""
        until = self.client.hget(redis_keys.limiter("cooldown", str(provider), key_id), "until")
        return max(_float(until) - self.clock(), 0.0)

    def effective_rate(self, provider: str, key_id: str, limits: KeyLimits) -> float:
        """The key's current request rate, between its floor and its configured ceiling."""
        raw = self.client.hget(redis_keys.limiter("aimd", str(provider), key_id), "rate")
        return min(max(_float(raw, limits.rate_per_s), limits.floor), limits.rate_per_s)

    def rate_pressure(self, provider: str, key_id: str, limits: KeyLimits) -> float:
        """How full the key's rate window is, 0 (idle) to 1 (the next call must wait)."""
        rate = self.effective_rate(provider, key_id, limits)
        capacity, window = rate_window(rate, limits.rate_per_s)
        since = self.clock() - window - RATE_MARGIN_S
        requests = redis_keys.limiter("requests", str(provider), key_id)
        used = self.client.zcount(requests, f"({since}", "+inf")
        return min(used / capacity, 1.0)

    def in_flight(self, provider: str, key_id: str) -> int:
        """Slots held under a live lease."""
        slots = redis_keys.limiter("slots", str(provider), key_id)
        return int(self.client.zcount(slots, f"({self.clock()}", "+inf"))

    def parked(self, provider: str, key_id: str) -> int:
        """Holders parked on the key, waiting to be handed a slot."""
        raw = self.client.hget(redis_keys.limiter("stats", str(provider), key_id), "parked")
        return max(int(_float(raw)), 0)

    def loads(
        self, provider: str, key_ids: Sequence[str], limits_by_key: Mapping[str, KeyLimits]
    ) -> dict[str, KeyLoad]:
        """Each key's `KeyLoad`, read piece by piece (`Limiter` reads it in one round trip)."""
        return {
            key: KeyLoad(
                cooldown_s=self.cooldown_remaining(provider, key),
                in_flight=self.in_flight(provider, key),
                parked=self.parked(provider, key),
                rate_pressure=self.rate_pressure(provider, key, limits_by_key[key]),
            )
            for key in key_ids
        }

    def pick_key(
        self, provider: str, key_ids: Sequence[str], limits_by_key: Mapping[str, KeyLimits]
    ) -> str:
        """The key of the pool to use next: not cooling down, least loaded, least rate used."""
        if not key_ids:
            raise ValueError(f"no API key configured for {provider}")
        order = {key: index for index, key in enumerate(key_ids)}
        found = self.loads(provider, key_ids, limits_by_key)

        def load(key: str) -> tuple[bool, float, float, float, int]:
            state, limits = found[key], limits_by_key[key]
            queued = (state.in_flight + state.parked) / max(limits.concurrency, 1)
            return state.cooldown_s > 0, queued, state.cooldown_s, state.rate_pressure, order[key]

        return min(key_ids, key=load)

    def snapshot(self, provider: str, key_id: str, limits: KeyLimits) -> dict[str, Any]:
        """The key's state for ``restyle limits`` and logs (no secrets: keys are ids)."""
        now = self.clock()
        names = self._keys(provider, key_id, "cooldown", "aimd", "stats")
        cooldown, aimd, stats = (self.client.hgetall(name) for name in names)
        return {
            "provider": str(provider),
            "key_id": key_id,
            "in_flight": self.in_flight(provider, key_id),
            "concurrency": limits.concurrency,
            "effective_rate": self.effective_rate(provider, key_id, limits),
            "rate_ceiling": limits.rate_per_s,
            "rate_pressure": self.rate_pressure(provider, key_id, limits),
            "cooldown_remaining": max(_float(cooldown.get(b"until")) - now, 0.0),
            "cooldown_reason": cooldown.get(b"reason", b"").decode(),
            "throttle_streak": int(aimd.get(b"streak", 0)),
            "avg_hold_s": _float(stats.get(b"avg_hold")),
            "parked": max(int(_float(stats.get(b"parked"))), 0),
            "waiting": {p.value: self._waiting(provider, key_id, p) for p in Priority},
        }

    def _waiting(self, provider: str, key_id: str, priority: Priority) -> list[str]:
        name = redis_keys.limiter(f"parked-{priority.value}", str(provider), key_id)
        return sorted(item.decode() for item in self.client.zrange(name, 0, -1))
