"""Properties of the pure timing functions: backoff, Retry-After and the poll schedule."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from jobs.timing import (
    POLL_FLOOR_S,
    backoff_delay,
    next_poll_delay,
    retry_delay,
)

attempts = st.integers(min_value=0, max_value=10_000)
seconds = st.floats(min_value=0.0, max_value=100_000.0, allow_nan=False)
positive = st.floats(min_value=0.01, max_value=100_000.0, allow_nan=False)
seeds = st.integers(min_value=0, max_value=2**32)


@given(attempts, positive, positive, seeds)
def test_backoff_stays_between_zero_and_the_capped_exponential(
    attempt: int, base: float, cap: float, seed: int
) -> None:
    delay = backoff_delay(attempt, base, cap, random.Random(seed))

    assert 0.0 <= delay <= min(cap, base * 2.0 ** min(attempt, 62))


def test_backoff_grows_with_the_attempt_on_average() -> None:
    rng = random.Random(1)

    means = [sum(backoff_delay(a, 1.0, 1000.0, rng) for _ in range(500)) / 500 for a in range(6)]

    assert means == sorted(means)
    assert means[5] > 10 * means[0]


@given(attempts, st.none() | seconds, seeds)
def test_a_retry_never_comes_before_retry_after(
    attempt: int, retry_after: float | None, seed: int
) -> None:
    delay = retry_delay(attempt, retry_after, rng=random.Random(seed))

    assert delay >= (retry_after or 0.0)
    assert delay <= max(300.0, (retry_after or 0.0) * 1.1)


@given(st.integers(0, 50), positive, seconds, positive, seconds)
def test_a_poll_delay_is_capped_and_never_passes_the_deadline(
    polls: int, typical: float, elapsed: float, cap: float, remaining: float
) -> None:
    delay = next_poll_delay(polls, typical, elapsed, cap, remaining)

    assert 0.0 <= delay <= min(cap, remaining)
    assert delay >= min(POLL_FLOOR_S, cap, remaining)


@given(st.integers(0, 50), positive, seconds, positive)
def test_a_poll_delay_is_positive_while_time_remains_so_polls_never_spin(
    polls: int, typical: float, elapsed: float, remaining: float
) -> None:
    assert next_poll_delay(polls, typical, elapsed, 60.0, remaining) > 0.0


@given(positive, st.floats(min_value=0.0, max_value=1000.0))
def test_the_interval_after_the_first_poll_grows_with_elapsed_time(
    typical: float, elapsed: float
) -> None:
    first_at = 0.35 * typical
    later = max(elapsed, first_at)

    sooner = next_poll_delay(3, typical, later, 1e9, 1e9)
    afterwards = next_poll_delay(3, typical, later * 2 + 1, 1e9, 1e9)

    assert afterwards >= sooner


def test_the_first_poll_aims_at_a_third_of_the_typical_time() -> None:
    assert next_poll_delay(0, 100.0, 0.0, 60.0, 3600.0) == 35.0
    assert next_poll_delay(0, 100.0, 30.0, 60.0, 3600.0) == 5.0
    assert next_poll_delay(0, 300.0, 0.0, 60.0, 3600.0) == 60.0
