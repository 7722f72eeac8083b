"""The limiter switched off (``RESTYLE_LIMITER_ENABLED=false``), and the choice between the two.

Only for measuring what plain Celery ``rate_limit`` does without restyle's limiter (see
``bench/quota.py``): every call is allowed and a 429 leaves no cooldown behind.
"""

from __future__ import annotations

from typing import Any

import redis

from jobs.limits.limiter import Grant, Handover, KeyLimits, Limiter


class UnlimitedLimiter(Limiter):
    """A `Limiter` that allows everything and remembers no throttling."""

    def acquire_slot(self, provider: str, key_id: str, holder: str, limits: KeyLimits,
                     lease_s: float, **_: Any) -> Grant:  # fmt: skip
        """Always allowed."""
        return Grant(True, 0.0, "ok")

    def acquire_request(self, provider: str, key_id: str, limits: KeyLimits) -> Grant:
        """Always allowed."""
        return Grant(True, 0.0, "ok")

    def hand_over(
        self, provider: str, key_id: str, limits: KeyLimits, lease_s: float
    ) -> list[Handover]:
        """Nobody is ever parked."""
        return []

    def on_throttled(self, provider: str, key_id: str, limits: KeyLimits,
                     retry_after_s: float | None, **_: Any) -> float:  # fmt: skip
        """Nothing is remembered."""
        return limits.rate_per_s


def build_limiter(client: redis.Redis[bytes], enabled: bool = True) -> Limiter:
    """The limiter, or the switched-off one for baselines."""
    return Limiter(client) if enabled else UnlimitedLimiter(client)
