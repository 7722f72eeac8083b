"""Per-batch budget reservations: atomic, never over the limit, in integer micro-dollars."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import redis
from pydantic import ValidationError

from jobs.batches import Batch, BatchStore
from jobs.budget import Budget, Charge, spend_parts


@pytest.fixture
def budget(redis_client: redis.Redis[bytes]) -> Budget:
    return Budget(redis_client)


def test_reserve_refuses_once_reserved_plus_spent_would_pass_the_limit(budget: Budget) -> None:
    budget.set_limit("b", 3.0)

    assert budget.reserve("b", 1.25)
    assert budget.reserve("b", 1.25)
    assert not budget.reserve("b", 1.25)
    budget.commit("b", 1.25)
    assert not budget.reserve("b", 0.75)
    assert budget.reserve("b", 0.5)

    status = budget.status("b")
    assert (status.spent_usd, status.reserved_usd, status.remaining_usd) == (1.25, 1.75, 0.0)


def test_release_gives_the_reservation_back(budget: Budget) -> None:
    budget.set_limit("b", 1.0)
    assert budget.reserve("b", 1.0)
    assert not budget.reserve("b", 0.01)

    budget.release("b", 1.0)

    assert budget.reserve("b", 1.0)
    assert budget.spent("b") == 0.0


def test_a_batch_without_a_limit_always_reserves_and_still_counts_spending(
    budget: Budget,
) -> None:
    for _ in range(50):
        assert budget.reserve("free", 100.0)
        budget.commit("free", 100.0)

    assert budget.spent("free") == 5000.0
    assert budget.status("free").limit_usd is None


def test_money_adds_up_exactly_in_micro_dollars(budget: Budget) -> None:
    for _ in range(1000):
        budget.reserve("b", 0.1)
        budget.commit("b", 0.1)

    assert budget.spent("b") == 100.0


def test_settling_more_than_was_reserved_never_makes_the_reservation_negative(
    budget: Budget,
) -> None:
    budget.set_limit("b", 2.0)
    budget.release("b", 5.0)
    budget.commit("b", 1.0)

    assert budget.status("b").reserved_usd == 0.0
    assert budget.reserve("b", 1.0)
    assert not budget.reserve("b", 0.5)


def test_threads_racing_to_reserve_never_take_more_than_the_budget(budget: Budget) -> None:
    budget.set_limit("race", 10.0)
    granted: list[bool] = []
    start = threading.Barrier(8)

    def spend() -> None:
        start.wait()
        for _ in range(25):
            granted.append(budget.reserve("race", 0.3))

    threads = [threading.Thread(target=spend) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert granted.count(True) == 33
    assert budget.status("race").reserved_usd == pytest.approx(9.9)


def test_creating_a_batch_is_idempotent_and_sets_its_budget_limit(
    redis_client: redis.Redis[bytes], budget: Budget
) -> None:
    store = BatchStore(redis_client)
    first = Batch(name="nightly-1", created_at=datetime(2025, 1, 2, tzinfo=UTC),
                  budget_usd=2.0, total_jobs=3, options={"seed": 7})  # fmt: skip
    second = Batch(name="adhoc", created_at=datetime(2025, 1, 1, tzinfo=UTC))

    assert store.create(first)
    assert store.create(second)
    assert not store.create(first.model_copy(update={"budget_usd": 99.0, "total_jobs": 1}))

    assert store.get("nightly-1") == first
    assert store.get("missing") is None
    assert [batch.name for batch in store.list()] == ["adhoc", "nightly-1"]
    assert budget.status("nightly-1").limit_usd == 2.0
    assert budget.status("adhoc").limit_usd is None


@pytest.mark.parametrize("name", ["", "../etc", "a b", "x:jobs", "-lead"])
def test_a_batch_name_unsafe_for_keys_and_paths_is_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        Batch(name=name, created_at=datetime(2025, 1, 1, tzinfo=UTC))


def test_an_accepted_job_counts_the_providers_maximum_until_its_bill_replaces_it(
    budget: Budget,
) -> None:
    budget.set_limit("b", 10.0)
    assert budget.reserve("b", 1.40)
    budget.accept("b", Charge("runway", "2026-12-07"), 1.40, maximum_usd=8.40)

    money = budget.status("b")
    assert (money.reserved_usd, money.spent_usd, money.ceiling_usd) == (0.0, 8.40, 8.40)
    assert not budget.reserve("b", 1.70)  # the next submit sees the maximum at once
    budget.bill("b", Charge("runway", "2026-12-07", ceiling=True), 8.40, 1.12)

    money = budget.status("b")
    assert (money.spent_usd, money.billed_usd, money.ceiling_usd) == (1.12, 1.12, 0.0)
    assert budget.spend_rows("b")[("2026-12-07", "runway")] == pytest.approx(
        {"estimated": 8.40, "billed": 1.12, "replaced": 8.40}
    )
    assert spend_parts(9.52, 1.12, 8.40) == (
        "$1.12 billed, $8.40 held at the providers' maxima, $0.00 estimated"
    )
