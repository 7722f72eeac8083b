"""A key's own count of generations against its daily cap (Runway's rolling 24 h window).

Where the cap is known (the tier read from ``GET /v1/organization``, or the catalogue) restyle
stops sending before the provider refuses; the provider's own refusal opens the key's circuit
(`pipeline.routing.breaker_outcomes`), as any outage does.
"""

from __future__ import annotations

from config.settings import ProviderName
from jobs.limits.tiers import TierStore, daily_cap_wait_s
from pipeline.context import Context


def daily_cap_wait(ctx: Context, provider: ProviderName, key: str, now: float) -> float | None:
    """Seconds until ``key`` may generate again under its known daily cap; None: it may now."""
    cap = ctx.daily_cap(provider, key)
    if cap is None:
        return None
    store = TierStore(ctx.redis)
    # Routing asks this of every key on every submit: count first, fetch the times only at
    # the cap (a day's generations can be thousands).
    if store.generation_count(provider, key, now) < cap:
        return None
    return daily_cap_wait_s(store.generation_times(provider, key, now), cap, now)
