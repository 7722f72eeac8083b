"""How the limiter shares keys: fairness between batches and priorities, AIMD, key pools."""

from __future__ import annotations

import logging
from typing import Protocol

import pytest

from jobs.limits.limiter import KeyLimits, Limiter
from jobs.models import Priority
from jobs.timing import POLICY

P, K = "segmind", "key-a"
BULK, INTERACTIVE = Priority.BULK, Priority.INTERACTIVE
ONE_SLOT = KeyLimits(concurrency=1, rate_per_s=1000)


class Clock(Protocol):
    now: float

    def advance(self, seconds: float) -> None: ...


def ask(limiter: Limiter, batch: str, n: int, priority: Priority = BULK) -> str | None:
    """Job ``n`` of ``batch`` asks for the key's slot; the holder id when granted."""
    holder = f"{batch}-{n}"
    grant = limiter.acquire_slot(P, K, holder, ONE_SLOT, 60, batch=batch, priority=priority)
    return holder if grant.allowed else None


def wake(limiter: Limiter, limits: KeyLimits = ONE_SLOT) -> list[str]:
    """The holders handed the key's free slots."""
    return [handover.holder for handover in limiter.hand_over(P, K, limits, 60)]


def test_two_batches_parked_on_one_key_are_handed_the_slot_in_turn_whoever_asked_first(
    limiter: Limiter, clock: Clock
) -> None:
    holder = ask(limiter, "nightly", 0)
    for n in range(1, 5):
        for batch in ("nightly", "other"):  # nightly always asks first
            assert ask(limiter, batch, n) is None
    served: list[str] = []
    while holder is not None:
        clock.advance(1)
        limiter.release(P, K, holder)
        handed = wake(limiter)
        holder = handed[0] if handed else None
        served += [name.rsplit("-", 1)[0] for name in handed]

    assert served == ["other", "nightly"] * 4
    assert limiter.snapshot(P, K, ONE_SLOT)["parked"] == 0


def test_a_newcomer_is_parked_while_a_parked_batch_is_owed_the_free_slot(
    limiter: Limiter,
) -> None:
    holder = ask(limiter, "nightly", 0)
    assert holder is not None
    assert ask(limiter, "other", 0) is None
    limiter.release(P, K, holder)

    grant = limiter.acquire_slot(P, K, "nightly-1", ONE_SLOT, 60, batch="nightly", priority=BULK)

    assert (grant.allowed, grant.reason, grant.parked) == (False, "fair_share", True)
    assert wake(limiter) == ["other-0"]


def test_an_interactive_batch_goes_before_a_bulk_batch_that_asks_first(
    limiter: Limiter, clock: Clock
) -> None:
    bulk = ask(limiter, "nightly", 0)
    assert bulk is not None
    assert ask(limiter, "nightly", 1) is None
    for n in range(2):
        assert ask(limiter, "preview", n, INTERACTIVE) is None
    handed: list[tuple[str, Priority]] = []

    for _ in range(3):
        limiter.release(P, K, handed[-1][0] if handed else bulk)
        handed += [(h.holder, h.priority) for h in limiter.hand_over(P, K, ONE_SLOT, 60)]

    assert handed == [("preview-0", INTERACTIVE), ("preview-1", INTERACTIVE), ("nightly-1", BULK)]


def test_a_holder_handed_a_slot_keeps_it_when_its_submit_arrives(limiter: Limiter) -> None:
    holder = ask(limiter, "nightly", 0)
    assert holder is not None and ask(limiter, "nightly", 1) is None
    limiter.release(P, K, holder)
    assert wake(limiter) == ["nightly-1"]

    assert ask(limiter, "other", 0) is None
    assert ask(limiter, "nightly", 1) == "nightly-1"
    assert limiter.in_flight(P, K) == 1


def test_a_handover_whose_submit_never_comes_expires_with_its_lease(
    limiter: Limiter, clock: Clock
) -> None:
    holder = ask(limiter, "nightly", 0)
    assert holder is not None
    for n in (1, 2):
        assert ask(limiter, "nightly", n) is None
    limiter.release(P, K, holder)
    assert wake(limiter) == ["nightly-1"]

    clock.advance(61)

    assert wake(limiter) == ["nightly-2"]


def test_a_parked_holder_that_finds_a_free_slot_itself_leaves_the_queue(
    limiter: Limiter,
) -> None:
    holder = ask(limiter, "nightly", 0)
    assert holder is not None
    assert ask(limiter, "preview", 0, INTERACTIVE) is None
    limiter.release(P, K, holder)

    assert ask(limiter, "preview", 0, INTERACTIVE) == "preview-0"

    snap = limiter.snapshot(P, K, ONE_SLOT)
    assert (snap["parked"], snap["waiting"]) == (0, {"interactive": [], "bulk": []})
    assert wake(limiter) == []


def test_free_slots_beyond_the_waiting_interactive_batches_still_go_to_bulk(
    limiter: Limiter,
) -> None:
    limits = KeyLimits(concurrency=3, rate_per_s=1000)
    for n in range(3):
        limiter.acquire_slot(P, K, f"bulk-{n}", limits, 60, batch="nightly", priority=BULK)
    limiter.acquire_slot(P, K, "ui-0", limits, 60, batch="preview", priority=INTERACTIVE)
    limiter.release(P, K, "bulk-0")
    limiter.release(P, K, "bulk-1")

    first = limiter.acquire_slot(P, K, "bulk-3", limits, 60, batch="nightly", priority=BULK)
    second = limiter.acquire_slot(P, K, "bulk-4", limits, 60, batch="nightly", priority=BULK)

    assert (first.allowed, second.allowed, second.reason) == (True, False, "fair_share")


def test_a_throttle_without_limit_info_halves_the_rate_once_per_cooldown_down_to_the_floor(
    limiter: Limiter, clock: Clock
) -> None:
    limits = KeyLimits(concurrency=1, rate_per_s=8, rate_floor_per_s=1)

    assert limiter.on_throttled(P, K, limits, None) == 4.0
    assert limiter.on_throttled(P, K, limits, None) == 4.0  # same burst of 429s
    rates = []
    for _ in range(6):
        clock.advance(POLICY.cooldown_cap_s + 1)
        rates.append(limiter.on_throttled(P, K, limits, 2.0))

    assert rates == [2.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    assert limiter.effective_rate(P, K, limits) == 1.0


def test_successes_raise_the_rate_additively_back_to_the_ceiling(
    limiter: Limiter, clock: Clock
) -> None:
    limits = KeyLimits(concurrency=1, rate_per_s=10)
    limiter.on_throttled(P, K, limits, None)

    rates = [limiter.on_success(P, K, limits) for _ in range(30)]

    assert rates[:3] == pytest.approx([5.2, 5.4, 5.6])
    assert max(rates) == 10.0
    assert rates[-1] == 10.0
    assert limiter.effective_rate(P, K, limits) == 10.0


def test_the_effective_rate_governs_the_request_rate(limiter: Limiter, clock: Clock) -> None:
    limits = KeyLimits(concurrency=1, rate_per_s=4, rate_floor_per_s=1)
    for _ in range(2):
        limiter.on_throttled(P, K, limits, 0.0)
        clock.advance(2)

    granted = 0
    for _ in range(100):
        granted += limiter.acquire_request(P, K, limits).allowed
        clock.advance(0.1)

    assert limiter.effective_rate(P, K, limits) == 1.0
    assert granted <= 11


def test_a_throttle_reporting_the_limit_sets_the_rate_to_it(limiter: Limiter) -> None:
    limits = KeyLimits(concurrency=1, rate_per_s=10)

    assert limiter.on_throttled(P, K, limits, 1.0, reported_rate_per_s=3.0) == 3.0
    assert limiter.on_throttled(P, K, limits, 1.0, reported_rate_per_s=50.0) == 10.0


def test_a_throttle_cools_the_key_from_retry_after_or_from_a_growing_backoff(
    limiter: Limiter, clock: Clock
) -> None:
    limits = KeyLimits(concurrency=1, rate_per_s=10)

    limiter.on_throttled(P, K, limits, 7.5)
    assert limiter.cooldown_remaining(P, K) == 7.5
    cooldowns = []
    for _ in range(9):
        clock.advance(100)
        limiter.on_throttled(P, K, limits, None)
        cooldowns.append(limiter.cooldown_remaining(P, K))

    assert cooldowns == [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0, 60.0]
    limiter.on_success(P, K, limits)
    clock.advance(100)
    limiter.on_throttled(P, K, limits, None)
    assert limiter.cooldown_remaining(P, K) == 1.0


def test_pick_key_spreads_jobs_across_the_pool(limiter: Limiter) -> None:
    pool = ["k1", "k2", "k3"]
    limits = {key: KeyLimits(concurrency=2, rate_per_s=1000) for key in pool}
    chosen = []
    for n in range(6):
        key = limiter.pick_key(P, pool, limits)
        grant = limiter.acquire_slot(P, key, f"job-{n}", limits[key], 60, batch="b", priority=BULK)
        assert grant.allowed
        chosen.append(key)

    assert sorted(chosen) == ["k1", "k1", "k2", "k2", "k3", "k3"]
    assert chosen[:3] == pool


def test_pick_key_avoids_a_key_in_cooldown_and_weighs_load_by_concurrency(
    limiter: Limiter,
) -> None:
    limits = {"small": KeyLimits(concurrency=1, rate_per_s=10),
              "big": KeyLimits(concurrency=10, rate_per_s=10),
              "cool": KeyLimits(concurrency=10, rate_per_s=10)}  # fmt: skip
    limiter.set_cooldown(P, "cool", 30, "429")
    limiter.acquire_slot(P, "big", "a", limits["big"], 60, batch="b", priority=BULK)

    assert limiter.pick_key(P, ["small", "cool", "big"], limits) == "small"
    limiter.acquire_slot(P, "small", "b", limits["small"], 60, batch="b", priority=BULK)
    assert limiter.pick_key(P, ["small", "cool", "big"], limits) == "big"
    with pytest.raises(ValueError, match="no API key"):
        limiter.pick_key(P, [], limits)


def test_changes_of_the_effective_rate_are_logged_down_at_once_and_up_by_tenths(
    limiter: Limiter, caplog: pytest.LogCaptureFixture
) -> None:
    limits = KeyLimits(concurrency=1, rate_per_s=10)
    caplog.set_level(logging.INFO, logger="jobs.limits.limiter")

    limiter.on_throttled(P, K, limits, 2.0)
    for _ in range(25):
        limiter.on_success(P, K, limits)

    messages = [record.getMessage() for record in caplog.records]
    assert messages[0] == f"{P} key {K} throttled (retry-after 2.0): effective rate now 5/s of 10/s"
    assert [m.split()[-3] for m in messages[1:]] == ["6/s", "7/s", "8/s", "9/s", "10/s"]
    assert all(record.effective_rate > 0 for record in caplog.records)  # type: ignore[attr-defined]
