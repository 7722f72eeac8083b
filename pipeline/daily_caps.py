"""A key's own count of generations against its daily cap (Runway's rolling 24 h window).

Where the cap is known (the tier read from ``GET /v1/organization``, or the catalogue) restyle
stops sending before the provider refuses; the provider's own refusal opens the key's circuit
(`pipeline.breaker_outcomes`), as any outage does.
"""

from __future__ import annotations

from config.settings import ProviderName
from jobs.tiers import TierStore, daily_cap_wait_s
from pipeline.context import Context


def daily_cap_wait(ctx: Context, provider: ProviderName, key: str, now: float) -> float | None:
    """Seconds until ``key`` may generate again under its known daily cap; None: it may now."""
    cap = ctx.daily_cap(provider, key)
    if cap is None:
        return None
    times = TierStore(ctx.redis).generation_times(provider, key, now)
    return daily_cap_wait_s(times, cap, now)
