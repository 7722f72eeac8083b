"""What a failed submit says about its key's health: the circuit breaker's `Outcome`.

Read from the failure's class only, which the provider boundary chose (`providers.errors`):
never from a status code or the wording of a message.
"""

from __future__ import annotations

from jobs.limits.breaker import Outcome
from providers.errors import (
    AuthenticationFailed,
    DailyCap,
    InsufficientCredits,
    Maintenance,
    ProviderError,
    ProviderFailure,
    ProviderUnavailable,
    RateLimited,
    ServiceDown,
)

OUTCOMES: tuple[tuple[type[ProviderFailure], Outcome | None], ...] = (
    (InsufficientCredits, Outcome.CREDITS),
    (AuthenticationFailed, Outcome.AUTH),
    (DailyCap, Outcome.DAILY_CAP),
    (RateLimited, None),  # a rate: the limiter's business, not the key's health
    (Maintenance, Outcome.MAINTENANCE),
    (ServiceDown, Outcome.SERVER_ERROR),
    (ProviderUnavailable, Outcome.TIMEOUT),  # no answer at all
    (ProviderError, Outcome.SERVER_ERROR),
)
"""Most specific class first: the first that matches names the outcome."""


def breaker_outcome(exc: ProviderFailure) -> Outcome | None:
    """The breaker outcome of a failed submit (None: says nothing about the key's health)."""
    for cls, outcome in OUTCOMES:
        if isinstance(exc, cls):
            return outcome
    return None
