"""Fault decisions: random fault plans, per-key request rate windows and injected faults.

Everything here is plain arithmetic on ``now`` and a seeded ``random.Random``; the HTTP side
(`emulator.gateway`) turns a `Plan` into a response.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict, deque
from dataclasses import dataclass
from enum import StrEnum

from config.settings import ProviderName
from emulator.config import FaultRates


class Fault(StrEnum):
    """The fault classes; the first five reject a request before anything is processed."""

    RATE_LIMITED = "rate_limited"
    MAINTENANCE = "maintenance"
    SERVER_ERROR = "server_error"
    BAD_GATEWAY = "bad_gateway"
    UNAVAILABLE = "unavailable"
    SLOW = "slow"
    TIMEOUT = "timeout"
    MALFORMED = "malformed"
    DROPPED = "dropped"


REJECTIONS = (
    Fault.RATE_LIMITED,
    Fault.MAINTENANCE,
    Fault.SERVER_ERROR,
    Fault.BAD_GATEWAY,
    Fault.UNAVAILABLE,
)
AFTERMATHS = (Fault.DROPPED, Fault.MALFORMED, Fault.TIMEOUT)


@dataclass(frozen=True)
class Plan:
    """What to do to one request: reject it, or delay it, then maybe spoil the answer."""

    reject: Fault | None = None
    retry_after_s: float | None = None
    delay_s: float = 0.0
    after: Fault | None = None
    hold_s: float = 0.0


CLEAN = Plan()


def draw_plan(rates: FaultRates, rng: random.Random) -> Plan:
    """A random plan: each class is drawn independently; the first rejection drawn wins."""
    for fault in REJECTIONS:
        if rng.random() < getattr(rates, fault.value):
            return Plan(reject=fault, retry_after_s=rates.retry_after_s)
    delay = rates.slow_s if rng.random() < rates.slow else 0.0
    for fault in AFTERMATHS:
        if rng.random() < getattr(rates, fault.value):
            hold = rates.timeout_s if fault is Fault.TIMEOUT else 0.0
            return Plan(delay_s=delay, after=fault, hold_s=hold)
    return Plan(delay_s=delay) if delay else CLEAN


def retry_after_header(seconds: float) -> str:
    """A Retry-After value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))


class RateWindow:
    """Sliding-window request rate per key: ``floor(rate)`` requests per ``floor(rate)/rate`` s."""

    def __init__(self) -> None:
        self._times: dict[str, deque[float]] = defaultdict(deque)

    def admit(self, key: str, rate: float, now: float) -> float | None:
        """None when the request may pass (and is counted); otherwise seconds to wait."""
        capacity = max(1, math.floor(rate))
        window = capacity / rate
        times = self._times[key]
        while times and times[0] <= now - window:
            times.popleft()
        if len(times) >= capacity:
            return times[0] + window - now
        times.append(now)
        return None

    def clear(self) -> None:
        """Forget every key's history."""
        self._times.clear()


@dataclass
class _Burst:
    remaining: int
    retry_after_s: float


class Injections:
    """Faults asked for by the admin API: 429s for a key's next N requests, maintenance windows."""

    def __init__(self) -> None:
        self._bursts: dict[str, _Burst] = {}
        self._maintenance: dict[ProviderName, float] = {}
        self._silent: set[ProviderName] = set()

    def rate_limit(self, kid: str, count: int, retry_after_s: float) -> None:
        """Answer the next ``count`` requests of key ``kid`` with 429 and this Retry-After."""
        self._bursts[kid] = _Burst(count, retry_after_s)

    def maintenance(
        self, providers: list[ProviderName], until: float, retry_after: bool = True
    ) -> None:
        """Put ``providers`` in maintenance until the time ``until``; with ``retry_after``
        false their answers carry no Retry-After (as crun's 455 and many gateways' 503s)."""
        for provider in providers:
            self._maintenance[provider] = until
            if retry_after:
                self._silent.discard(provider)
            else:
                self._silent.add(provider)

    def maintenance_retry_after(self, provider: ProviderName) -> bool:
        """Whether ``provider``'s maintenance answers say when to come back."""
        return provider not in self._silent

    def take_rate_limit(self, kid: str) -> float | None:
        """The Retry-After of an injected 429 for this request of ``kid``, if one is due."""
        burst = self._bursts.get(kid)
        if burst is None or burst.remaining <= 0:
            return None
        burst.remaining -= 1
        return burst.retry_after_s

    def maintenance_left(self, provider: ProviderName, now: float) -> float | None:
        """Seconds of maintenance left for ``provider`` at ``now``, if any."""
        until = self._maintenance.get(provider)
        return until - now if until is not None and until > now else None

    def clear(self) -> None:
        """Drop every injected fault."""
        self._bursts.clear()
        self._maintenance.clear()
        self._silent.clear()
