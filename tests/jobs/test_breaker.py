"""The circuit breaker's state math, on a given ``now``, and its Redis store."""

from __future__ import annotations

import redis

from jobs.limits.breaker import (
    BreakerPolicy,
    Circuit,
    CircuitState,
    Outcome,
    admit,
    describe,
    record,
)
from jobs.limits.breaker_store import Breakers
from pipeline.routing.breaker_outcomes import breaker_outcome
from providers.errors import (
    AuthenticationFailed,
    DailyCap,
    InsufficientCredits,
    InvalidRequest,
    Maintenance,
    ProviderError,
    ProviderFailure,
    ProviderUnavailable,
    RateLimited,
    ServiceDown,
)
from tests.jobs.conftest import FakeClock

POLICY = BreakerPolicy(window_s=60, min_calls=4, error_rate=0.5, cooldown_s=10,
                       max_cooldown_s=60, credits_cooldown_s=30, probe_lease_s=20)  # fmt: skip


def classify(exc: ProviderFailure) -> Outcome | None:
    # The provider boundary chose the class (a Runway 429 without Retry-After is `DailyCap`).
    return breaker_outcome(exc)


def test_outcomes_are_read_from_the_failure() -> None:
    assert classify(Maintenance("crun", "maintenance", 455)) is Outcome.MAINTENANCE
    maint = Maintenance("segmind", "The service is under maintenance.", 503, 600.0)
    assert classify(maint) is Outcome.MAINTENANCE
    assert classify(ServiceDown("segmind", "overloaded", 503)) is Outcome.SERVER_ERROR
    assert classify(ProviderUnavailable("segmind", "ReadTimeout")) is Outcome.TIMEOUT
    assert classify(ProviderError("aimlapi", "bad JSON", 200)) is Outcome.SERVER_ERROR
    assert classify(InsufficientCredits("aimlapi", "no credits", 403)) is Outcome.CREDITS
    assert classify(AuthenticationFailed("crun", "bad key", 401)) is Outcome.AUTH
    assert classify(DailyCap("runway", "daily task limit", 429)) is Outcome.DAILY_CAP
    assert classify(RateLimited("runway", "slow down", 429, 2.0)) is None
    assert classify(RateLimited("segmind", "slow down", 429)) is None
    assert classify(InvalidRequest("crun", "bad ratio", 422)) is None


def test_maintenance_opens_at_once_for_the_retry_after_or_a_doubling_cooldown() -> None:
    opened = record(Circuit(), Outcome.MAINTENANCE, 100.0, POLICY, retry_after_s=25)
    assert (opened.state, opened.until, opened.trips) == (CircuitState.OPEN, 125.0, 1)
    silent = record(Circuit(), Outcome.MAINTENANCE, 100.0, POLICY, detail="455")
    assert silent.until == 110.0 and silent.reason == "maintenance: 455"
    assert admit(silent, "job-a", 109.9, POLICY) is None
    probing = admit(silent, "job-a", 110.0, POLICY)
    assert probing is not None and probing.state is CircuitState.HALF_OPEN
    again = record(probing, Outcome.MAINTENANCE, 111.0, POLICY)
    assert (again.until, again.trips) == (131.0, 2)  # 10 s, then 20 s
    capped = Circuit(state=CircuitState.HALF_OPEN, trips=9)
    assert record(capped, Outcome.TIMEOUT, 0.0, POLICY).until == 60.0


def test_half_open_lets_one_probe_through_and_its_success_closes() -> None:
    opened = record(Circuit(), Outcome.CREDITS, 0.0, POLICY)
    assert opened.until == 30.0
    probing = admit(opened, "job-a", 31.0, POLICY)
    assert probing is not None
    assert admit(probing, "job-b", 32.0, POLICY) is None
    assert admit(probing, "job-a", 32.0, POLICY) == probing  # a redelivered probe
    assert admit(probing, "job-b", 51.0, POLICY) is not None  # the probe's lease ran out
    closed = record(probing, Outcome.SUCCESS, 40.0, POLICY)
    assert closed.state is CircuitState.CLOSED and closed.trips == 0
    assert describe(probing, 32.0).startswith("half-open, probe in flight")


def test_a_rate_of_errors_opens_but_scattered_ones_do_not() -> None:
    circuit = Circuit(window_start=0.0)
    for now, outcome in [(1, Outcome.SUCCESS), (2, Outcome.TIMEOUT), (3, Outcome.SUCCESS)]:
        circuit = record(circuit, outcome, float(now), POLICY)
    assert circuit.state is CircuitState.CLOSED and (circuit.calls, circuit.failures) == (3, 1)
    circuit = record(circuit, Outcome.SERVER_ERROR, 4.0, POLICY)
    assert circuit.state is CircuitState.OPEN  # 2 of 4 failed
    assert circuit.reason == "server_error: 2 of 4 submits failed in 60 s"
    fresh = Circuit(window_start=0.0, calls=3, failures=1)
    assert record(fresh, Outcome.TIMEOUT, 61.0, POLICY).calls == 1  # a new window


def test_failures_sent_before_the_circuit_opened_do_not_lengthen_it() -> None:
    opened = record(Circuit(), Outcome.MAINTENANCE, 0.0, POLICY)
    assert record(opened, Outcome.MAINTENANCE, 1.0, POLICY) == opened
    assert record(opened, Outcome.SUCCESS, 1.0, POLICY) == opened
    assert describe(opened, 1.0) == "open for 9s more (maintenance)"


def test_the_store_shares_one_circuit_and_one_probe(redis_client: redis.Redis[bytes]) -> None:
    clock = FakeClock(1000.0)
    one, two = Breakers(redis_client, POLICY, clock), Breakers(redis_client, POLICY, clock)
    assert one.admit("crun", "k1", "job-a")
    change = one.record("crun", "k1", Outcome.MAINTENANCE, detail="455")
    assert change.opened_now and not change.closed_now
    assert not two.admit("crun", "k1", "job-b")
    clock.advance(10)
    assert two.admit("crun", "k1", "job-b")
    assert not one.admit("crun", "k1", "job-a")
    assert two.get("crun", "k1").probe == "job-b"
    assert one.record("crun", "k1", Outcome.SUCCESS).closed_now
    assert one.get_many([("crun", "k1"), ("crun", "k2")]) == [
        Circuit(window_start=1010.0),
        Circuit(),
    ]


def test_waiting_jobs_and_one_timer_per_circuit(redis_client: redis.Redis[bytes]) -> None:
    breakers = Breakers(redis_client, POLICY, FakeClock())
    assert breakers.claim_timer("crun", "k1", "job-a", 5.0)
    assert breakers.claim_timer("crun", "k1", "job-a", 5.0)
    assert not breakers.claim_timer("crun", "k1", "job-b", 5.0)
    breakers.wait("job-b", 2.0)
    breakers.wait("job-c", 1.0)
    breakers.stop_waiting("job-b")
    assert breakers.waiting() == 1
    assert breakers.take_waiting() == ["job-c"] and breakers.waiting() == 0
