"""The limiter's concurrency leases, request rate and cooldown against a real Redis."""

from __future__ import annotations

import random
import threading
import time
from typing import Protocol

import pytest
import redis

from jobs.limits.limiter import (
    RATE_MARGIN_S,
    RECHECK_MAX_S,
    RECHECK_MIN_S,
    Grant,
    KeyLimits,
    KeyLoad,
    Limiter,
    rate_window,
)
from jobs.limits.limiter_state import LimiterState
from jobs.models import Priority
from jobs.scripts import lua_source

from .conftest import CountingRedis

P, K = "runway", "key-a"
BULK = Priority.BULK


class Clock(Protocol):
    now: float

    def __call__(self) -> float: ...
    def advance(self, seconds: float) -> None: ...


def take(limiter: Limiter, holder: str, limits: KeyLimits, lease_s: float = 60.0,
         batch: str = "b1", priority: Priority = BULK, key: str = K) -> Grant:  # fmt: skip
    """One slot request with the defaults of these tests."""
    return limiter.acquire_slot(P, key, holder, limits, lease_s, batch=batch, priority=priority)


def test_threads_racing_for_slots_never_hold_more_than_the_concurrency(
    redis_client: redis.Redis[bytes],
) -> None:
    limiter = Limiter(redis_client)
    limits = KeyLimits(concurrency=3, rate_per_s=10_000)
    lock = threading.Lock()
    held, peak, grants, refused = [0], [0], [0], [0]
    start = threading.Barrier(12)

    def work(worker: int) -> None:
        start.wait()
        for n in range(30):
            holder = f"w{worker}-{n}"
            if not take(limiter, holder, limits).allowed:
                with lock:
                    refused[0] += 1
                continue
            with lock:
                held[0] += 1
                grants[0] += 1
                peak[0] = max(peak[0], held[0])
            time.sleep(0.001)
            with lock:
                held[0] -= 1
            limiter.release(P, K, holder)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert peak[0] <= 3
    assert grants[0] >= 3
    assert refused[0] > 0
    assert limiter.in_flight(P, K) == 0


def test_a_full_key_refuses_with_reason_concurrency(limiter: Limiter) -> None:
    limits = KeyLimits(concurrency=2, rate_per_s=100)

    assert [take(limiter, h, limits).allowed for h in ("a", "b", "c")] == [True, True, False]
    assert take(limiter, "c", limits).reason == "concurrency"
    assert limiter.in_flight(P, K) == 2


def test_reacquiring_by_the_same_holder_does_not_take_a_second_slot(limiter: Limiter) -> None:
    limits = KeyLimits(concurrency=2, rate_per_s=100)

    assert take(limiter, "job-1", limits).allowed
    assert take(limiter, "job-1", limits).allowed

    assert limiter.in_flight(P, K) == 1
    assert take(limiter, "job-2", limits).allowed


def test_an_expired_lease_frees_its_slot_and_can_no_longer_be_renewed(
    limiter: Limiter, clock: Clock
) -> None:
    limits = KeyLimits(concurrency=1, rate_per_s=100)
    assert take(limiter, "dead-worker", limits, lease_s=30).allowed
    assert not take(limiter, "next", limits).allowed

    clock.advance(31)

    assert take(limiter, "next", limits).allowed
    assert not limiter.renew(P, K, "dead-worker", 30)


def test_renewing_a_lease_keeps_the_slot_past_its_first_expiry(
    limiter: Limiter, clock: Clock
) -> None:
    limits = KeyLimits(concurrency=1, rate_per_s=100)
    take(limiter, "poller", limits, lease_s=30)

    for _ in range(5):
        clock.advance(20)
        assert limiter.renew(P, K, "poller", 30)

    assert not take(limiter, "other", limits).allowed
    limiter.release(P, K, "poller")
    assert take(limiter, "other", limits).allowed


def test_the_retry_countdown_of_a_full_key_comes_from_the_observed_hold_time(
    limiter: Limiter, clock: Clock
) -> None:
    limits = KeyLimits(concurrency=1, rate_per_s=100)
    take(limiter, "first", limits)
    clock.advance(10)
    limiter.release(P, K, "first")
    take(limiter, "second", limits)
    clock.advance(4)

    denied = take(limiter, "third", limits)

    assert (denied.reason, denied.parked) == ("concurrency", True)
    assert denied.retry_after_s == pytest.approx(6.0)


def test_the_retry_countdown_is_clamped_and_uses_the_guess_before_any_observation(
    limiter: Limiter, clock: Clock
) -> None:
    limits = KeyLimits(concurrency=1, rate_per_s=100)
    take(limiter, "first", limits, lease_s=1000)
    clock.advance(3)

    def ask(guess: float | None) -> float:
        grant = limiter.acquire_slot(P, K, "next", limits, 60, batch="b1", priority=BULK,
                                     hold_guess_s=guess)  # fmt: skip
        assert grant.reason == "concurrency"
        return grant.retry_after_s

    assert ask(5) == pytest.approx(2.0)
    assert ask(None) == RECHECK_MAX_S
    assert ask(100) == RECHECK_MAX_S
    clock.advance(500)
    assert ask(5) == RECHECK_MIN_S


def test_release_of_a_holder_without_a_slot_changes_nothing(limiter: Limiter) -> None:
    limits = KeyLimits(concurrency=1, rate_per_s=100)
    take(limiter, "a", limits)

    limiter.release(P, K, "stranger")

    assert limiter.in_flight(P, K) == 1


@pytest.mark.parametrize("rate", [0.5, 1.0, 3.0, 7.5])
def test_requests_never_exceed_the_providers_window_and_use_most_of_it(
    limiter: Limiter, clock: Clock, rate: float
) -> None:
    limits = KeyLimits(concurrency=1, rate_per_s=rate)
    capacity, window = rate_window(rate, rate)
    rng = random.Random(7)
    start = clock.now
    sent: list[float] = []
    while clock.now - start < 30:
        if limiter.acquire_request(P, K, limits).allowed:
            sent.append(clock.now - start)
        clock.advance(rng.expovariate(20 * rate))

    for i, t in enumerate(sent):
        assert sum(1 for u in sent[i:] if u < t + window + RATE_MARGIN_S) <= capacity
    assert len(sent) >= 30 * capacity / (window + RATE_MARGIN_S) * 0.85


def test_a_rate_refusal_says_exactly_when_the_next_request_may_go(
    limiter: Limiter, clock: Clock
) -> None:
    limits = KeyLimits(concurrency=1, rate_per_s=2)
    assert limiter.acquire_request(P, K, limits).allowed
    assert limiter.acquire_request(P, K, limits).allowed

    denied = limiter.acquire_request(P, K, limits)
    assert (denied.allowed, denied.reason) == (False, "rate")
    clock.advance(denied.retry_after_s - 0.01)
    assert not limiter.acquire_request(P, K, limits).allowed
    clock.advance(0.02)
    assert limiter.acquire_request(P, K, limits).allowed


def test_the_submit_post_spends_a_rate_token_too(limiter: Limiter) -> None:
    limits = KeyLimits(concurrency=5, rate_per_s=1)
    assert take(limiter, "job", limits).allowed

    denied = limiter.acquire_request(P, K, limits)

    assert denied.reason == "rate"
    assert take(limiter, "job-2", limits).reason == "rate"
    assert limiter.in_flight(P, K) == 1


def test_a_cooldown_stops_every_call_until_it_ends_and_is_never_shortened(
    limiter: Limiter, clock: Clock
) -> None:
    limits = KeyLimits(concurrency=2, rate_per_s=100)
    limiter.set_cooldown(P, K, 30, "429 from provider")
    limiter.set_cooldown(P, K, 5, "shorter")

    request, slot = limiter.acquire_request(P, K, limits), take(limiter, "a", limits)

    assert (request.reason, request.retry_after_s) == ("cooldown", 30.0)
    assert (slot.reason, slot.retry_after_s) == ("cooldown", 30.0)
    clock.advance(29.5)
    assert limiter.cooldown_remaining(P, K) == pytest.approx(0.5)
    assert not limiter.acquire_request(P, K, limits).allowed
    clock.advance(0.5)
    assert limiter.acquire_request(P, K, limits).allowed
    assert take(limiter, "a", limits).allowed


def test_keys_of_one_provider_keep_separate_limits(limiter: Limiter) -> None:
    limits = KeyLimits(concurrency=1, rate_per_s=100)
    limiter.set_cooldown(P, "key-b", 60, "throttled")

    assert take(limiter, "a", limits).allowed
    assert take(limiter, "b", limits, key="key-c").allowed
    assert take(limiter, "c", limits, key="key-b").reason == "cooldown"


def test_rate_pressure_and_snapshot_show_the_key_state(limiter: Limiter, clock: Clock) -> None:
    limits = KeyLimits(concurrency=4, rate_per_s=4)
    assert limiter.rate_pressure(P, K, limits) == 0.0
    take(limiter, "a", limits, batch="nightly")
    for _ in range(3):
        limiter.acquire_request(P, K, limits)
    limiter.set_cooldown(P, K, 12, "429")

    snap = limiter.snapshot(P, K, limits)

    assert limiter.rate_pressure(P, K, limits) == 1.0
    assert snap["in_flight"] == 1
    assert snap["effective_rate"] == 4.0
    assert snap["cooldown_remaining"] == 12.0
    assert snap["cooldown_reason"] == "429"
    clock.advance(1.0 + RATE_MARGIN_S)
    assert limiter.rate_pressure(P, K, limits) == 0.0


def test_a_lowered_effective_rate_never_lets_a_burst_past_the_providers_window(
    limiter: Limiter, clock: Clock
) -> None:
    limits = KeyLimits(concurrency=1, rate_per_s=5)
    limiter.on_throttled(P, K, limits, 0.0)
    for _ in range(24):
        limiter.on_success(P, K, limits)  # climbs back to 4.9/s: 4 calls per second
    sent: list[float] = []
    start = clock.now
    while clock.now - start < 10:
        if limiter.acquire_request(P, K, limits).allowed:
            sent.append(clock.now)
        clock.advance(0.01)

    assert limiter.effective_rate(P, K, limits) == pytest.approx(4.9)
    assert max(sum(1 for u in sent if t <= u < t + 1.0) for t in sent) == 4


def test_one_read_of_a_pool_gives_what_the_separate_reads_give_in_one_round_trip(
    counting_client: CountingRedis, clock: Clock
) -> None:
    limiter = Limiter(counting_client, clock=clock)
    reference = LimiterState(counting_client, clock=clock)
    pool = ["idle", "full", "cool", "slow", "busy"]
    limits = {key: KeyLimits(concurrency=2, rate_per_s=4) for key in pool}
    limits["full"] = KeyLimits(concurrency=1, rate_per_s=4)
    limits["slow"] = KeyLimits(concurrency=2, rate_per_s=0.5)
    take(limiter, "a", limits["full"], lease_s=5, key="full")
    take(limiter, "b", limits["full"], key="full")  # parked behind a
    take(limiter, "c", limits["busy"], lease_s=120, key="busy")
    take(limiter, "d", limits["busy"], lease_s=5, key="busy")
    limiter.on_throttled(P, "slow", limits["slow"], 0.0)  # 0.25/s: one call per 4 s
    limiter.set_cooldown(P, "cool", 30, "429")
    clock.advance(5.5)  # the leases of a and d have lapsed, unreaped
    limiter.acquire_request(P, "slow", limits["slow"])
    for _ in range(3):
        limiter.acquire_request(P, "busy", limits["busy"])

    seen = []
    for _ in range(3):
        counting_client.script_load(lua_source("limiter_common", "limiter_load"))
        counting_client.sent.clear()
        loads = limiter.loads(P, pool, limits)
        assert counting_client.sent == ["EVALSHA"]
        for key in pool:
            assert loads[key] == KeyLoad(
                cooldown_s=reference.cooldown_remaining(P, key),
                in_flight=reference.in_flight(P, key),
                parked=reference.parked(P, key),
                rate_pressure=reference.rate_pressure(P, key, limits[key]),
            )
        assert limiter.rate_pressure(P, "busy", limits["busy"]) == loads["busy"].rate_pressure
        seen.append(loads)
        clock.advance(1.0)
    first, _, last = seen
    assert first["idle"] == KeyLoad(0.0, 0, 0, 0.0)
    assert (first["full"].in_flight, first["full"].parked) == (0, 1)
    assert first["cool"].cooldown_s == 24.5
    assert (first["slow"].rate_pressure, last["slow"].rate_pressure) == (1.0, 1.0)
    assert (first["busy"].in_flight, first["busy"].rate_pressure) == (1, 0.75)
    assert last["busy"].rate_pressure == 0.0


def test_pick_key_reads_the_whole_pool_in_one_round_trip(
    counting_client: CountingRedis, clock: Clock
) -> None:
    limiter = Limiter(counting_client, clock=clock)
    pool = ["k1", "k2", "k3"]
    limits = {key: KeyLimits(concurrency=2, rate_per_s=1000) for key in pool}
    counting_client.script_load(lua_source("limiter_common", "limiter_load"))
    take(limiter, "a", limits["k1"], key="k1")
    counting_client.sent.clear()

    assert limiter.pick_key(P, pool, limits) == "k2"
    assert counting_client.sent == ["EVALSHA"]
