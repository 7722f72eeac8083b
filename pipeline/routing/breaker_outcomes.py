"""What a failed submit says about its key's health: the circuit breaker's `Outcome`.

Read from the failure's class, status code and Retry-After only, never from its wording.
"""

from __future__ import annotations

from jobs.limits.breaker import Outcome
from providers.errors import (
    AuthenticationFailed,
    InsufficientCredits,
    ProviderError,
    ProviderFailure,
    ProviderUnavailable,
    RateLimited,
)


def breaker_outcome(exc: ProviderFailure, rate_limit_is_daily_cap: bool) -> Outcome | None:
    """The breaker outcome of a failed submit (None: says nothing about the key's health).

    ``rate_limit_is_daily_cap``: the provider's 429 without Retry-After is its daily cap
    (Runway's catalogue entry), which no wait of seconds will lift; any other 429 is the
    limiter's business. A 455, or a 503 that says when to come back, is a maintenance window.
    """
    if isinstance(exc, InsufficientCredits):
        return Outcome.CREDITS
    if isinstance(exc, AuthenticationFailed):
        return Outcome.AUTH
    if isinstance(exc, RateLimited):
        daily = rate_limit_is_daily_cap and exc.retry_after is None
        return Outcome.DAILY_CAP if daily else None
    if isinstance(exc, ProviderUnavailable):
        if exc.status_code == 455 or (exc.status_code == 503 and exc.retry_after is not None):
            return Outcome.MAINTENANCE
        return Outcome.TIMEOUT if exc.status_code is None else Outcome.SERVER_ERROR
    if isinstance(exc, ProviderError):
        return Outcome.SERVER_ERROR
    return None
