"""The circuit breaker of one (provider, API key): pure state math on a given ``now``.

- **closed**: submits go through. Outcomes are counted in a window; a rate of 5xx and timeouts
  at or over `BreakerPolicy.error_rate` (after ``min_calls``) opens it, and so does any single
  outcome that says the key cannot serve for a while: maintenance (455, a 503 that says so),
  no credits (402 and kin), an auth failure, Runway's daily cap.
- **open**: no submit until ``until``. The cooldown is the provider's Retry-After when it sent
  one, else the policy's for that cause, doubling with each trip in a row (capped).
- **half-open**: after the cooldown, one submit (the *probe*, by holder) is let through; its
  success closes the circuit, its failure opens it again for a longer cooldown. A probe that
  never reports (its worker died) is replaced after ``probe_lease_s``.

`jobs.limits.breaker_store` keeps one `Circuit` per key in Redis and applies these functions
under an optimistic transaction, so every worker sees one truth. A 429 is the limiter's business,
not the breaker's: the key works, it is only busy.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

# The policy lives with every other delay (jobs.delays); its users import it from here too.
from jobs.delays import BreakerPolicy as BreakerPolicy


class Outcome(StrEnum):
    """What one submit told us about the key's health."""

    SUCCESS = "success"
    MAINTENANCE = "maintenance"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    CREDITS = "credits"
    AUTH = "auth"
    DAILY_CAP = "daily_cap"


TRIPPING = frozenset({Outcome.MAINTENANCE, Outcome.CREDITS, Outcome.AUTH, Outcome.DAILY_CAP})
"""Outcomes that open the circuit at once: the key cannot serve for a while, whatever the rate."""


class CircuitState(StrEnum):
    """The three breaker states."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class Circuit:
    """One key's breaker. ``trips`` counts openings in a row (reset by a success)."""

    state: CircuitState = CircuitState.CLOSED
    until: float = 0.0
    reason: str = ""
    trips: int = 0
    window_start: float = 0.0
    calls: int = 0
    failures: int = 0
    probe: str = ""
    probe_until: float = 0.0

    @property
    def cause(self) -> Outcome | None:
        """The outcome that opened the circuit (`trip` writes ``reason`` as "outcome: detail")."""
        head = self.reason.partition(":")[0]
        return Outcome(head) if head in set(Outcome) else None

    def effective(self, now: float) -> CircuitState:
        """The state as a submit at ``now`` would find it (open turns half-open by itself)."""
        if self.state is CircuitState.OPEN and now >= self.until:
            return CircuitState.HALF_OPEN
        return self.state


def admit(circuit: Circuit, holder: str, now: float, policy: BreakerPolicy) -> Circuit | None:
    """The circuit after letting ``holder`` submit at ``now``, or None when it must not.

    Half-open lets one probe through; the probe holder may ask again (a redelivered message).
    """
    state = circuit.effective(now)
    if state is CircuitState.CLOSED:
        return circuit
    if state is CircuitState.OPEN:
        return None
    if circuit.probe and now < circuit.probe_until:
        return circuit if circuit.probe == holder else None
    return replace(
        circuit,
        state=CircuitState.HALF_OPEN,
        probe=holder,
        probe_until=now + policy.probe_lease_s,
    )


def record(
    circuit: Circuit,
    outcome: Outcome,
    now: float,
    policy: BreakerPolicy,
    *,
    retry_after_s: float | None = None,
    detail: str = "",
) -> Circuit:
    """The circuit after a submit ended with ``outcome`` at ``now``."""
    if outcome is Outcome.SUCCESS:
        state = circuit.effective(now)
        if state is CircuitState.CLOSED:
            return _count(circuit, now, policy, failed=False)
        # While open, a success is a submit admitted before the trip: it proves nothing about
        # what tripped it (credits run out between two submits). A half-open success closes.
        return circuit if state is CircuitState.OPEN else Circuit(window_start=now)
    state = circuit.effective(now)
    if state is CircuitState.OPEN:
        # A submit sent before the circuit opened: it adds nothing to the cooldown running.
        return circuit
    if state is CircuitState.HALF_OPEN or outcome in TRIPPING:
        return trip(circuit, outcome, now, policy, retry_after_s=retry_after_s, detail=detail)
    counted = _count(circuit, now, policy, failed=True)
    if counted.calls >= policy.min_calls and counted.failures >= policy.error_rate * counted.calls:
        rate = f"{counted.failures} of {counted.calls} submits failed in {policy.window_s:g} s"
        return trip(counted, outcome, now, policy, retry_after_s=retry_after_s, detail=rate)
    return counted


def _count(circuit: Circuit, now: float, policy: BreakerPolicy, *, failed: bool) -> Circuit:
    if now - circuit.window_start >= policy.window_s:
        circuit = replace(circuit, window_start=now, calls=0, failures=0)
    return replace(circuit, calls=circuit.calls + 1, failures=circuit.failures + int(failed))


def trip(
    circuit: Circuit,
    outcome: Outcome,
    now: float,
    policy: BreakerPolicy,
    *,
    retry_after_s: float | None = None,
    detail: str = "",
) -> Circuit:
    """Open the circuit for ``outcome``: Retry-After when given, else a doubling cooldown."""
    trips = circuit.trips + 1
    if retry_after_s is not None and retry_after_s > 0:
        cooldown = min(retry_after_s, policy.longest_cooldown(outcome))
    else:
        doubled = policy.base_cooldown(outcome) * 2 ** (trips - 1)
        cooldown = min(doubled, policy.longest_cooldown(outcome))
    reason = f"{outcome}: {detail}" if detail else str(outcome)
    return Circuit(
        state=CircuitState.OPEN,
        until=now + cooldown,
        reason=reason[:300],
        trips=trips,
        window_start=now,
    )


def describe(circuit: Circuit, now: float) -> str:
    """One line for ``restyle providers``, logs and a failed job's message."""
    state = circuit.effective(now)
    if state is CircuitState.CLOSED:
        return "closed"
    if state is CircuitState.OPEN:
        return f"open for {circuit.until - now:.0f}s more ({circuit.reason})"
    probing = ", probe in flight" if circuit.probe and now < circuit.probe_until else ""
    return f"half-open{probing} ({circuit.reason})"
