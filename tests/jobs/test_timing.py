"""Properties of the pure timing functions: backoff, Retry-After and the poll schedule."""

from __future__ import annotations

import random

from hypothesis import assume, given
from hypothesis import strategies as st

from jobs.timing import (
    MAX_COUNTDOWN_S,
    POLICY,
    POLL_BUDGET,
    PROGRESS_MARGIN,
    PROGRESS_MIN_GAP,
    PROGRESS_MIN_STEP,
    EndPrediction,
    ProgressReading,
    TimingPolicy,
    backoff_delay,
    predict_end,
)

POLL_FLOOR_S = POLICY.poll_floor_s
retry_delay = POLICY.retry_delay


def next_poll_delay(
    polls: int,
    typical: float,
    elapsed: float,
    cap: float,
    remaining: float,
    prediction: EndPrediction | None = None,
) -> float:
    return TimingPolicy(poll_cap_s=cap).next_poll_delay(
        polls, typical, elapsed, remaining, prediction
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

    # Up to the countdown bound: past it, the limiter's cooldown keeps the key waiting instead.
    assert delay >= min(retry_after or 0.0, MAX_COUNTDOWN_S)
    assert delay <= min(max(300.0, (retry_after or 0.0) * 1.1), MAX_COUNTDOWN_S)


@given(st.integers(0, 50), positive, seconds, positive, seconds)
def test_a_poll_delay_is_capped_and_never_passes_the_deadline(
    polls: int, typical: float, elapsed: float, cap: float, remaining: float
) -> None:
    delay = next_poll_delay(polls, typical, elapsed, cap, remaining)

    assert 0.0 <= delay <= min(cap, remaining)
    assert delay >= min(POLICY.min_countdown_s, cap, remaining)
    if POLICY.typical_end_delay(typical, elapsed) is None:  # only the aimed poll comes sooner
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
    # The one poll aimed at the typical end comes sooner by design (tested below).
    unaimed = TimingPolicy(poll_cap_s=1e9, typical_end_margin=None)

    sooner = unaimed.next_poll_delay(3, typical, later, 1e9)
    afterwards = unaimed.next_poll_delay(3, typical, later * 2 + 1, 1e9)

    assert afterwards >= sooner


def test_the_poll_that_would_cross_the_typical_end_lands_just_after_it() -> None:
    """20 s jobs, polls every 2 s: the one at 19.1 s would see the end at 21.1 s; it comes at
    20.2 s (1% past), below the 2 s floor, and the schedule goes on from there."""
    policy = TimingPolicy(poll_cap_s=2.0)
    end = 20.0 * (1 + 0.01)

    assert policy.next_poll_delay(5, 20.0, 17.1, 3600.0) == 2.0
    assert policy.next_poll_delay(6, 20.0, 19.1, 3600.0) == end - 19.1
    assert policy.next_poll_delay(7, 20.0, end + 0.05, 3600.0) == 2.0
    assert policy.next_poll_delay(6, 20.0, 20.15, 3600.0) == policy.min_countdown_s


def test_the_aimed_poll_is_only_ever_sooner_and_can_be_turned_off() -> None:
    """Long before the typical end the schedule is unchanged; a confirmed progress prediction
    overrides the aim; ``typical_end_margin=None`` is the schedule without it."""
    aimed, plain = TimingPolicy(), TimingPolicy(typical_end_margin=None)
    confirmed = EndPrediction(150.0, resolved=True, confirmed=True)

    assert aimed.next_poll_delay(3, 100.0, 50.0, 3600.0) == plain.next_poll_delay(
        3, 100.0, 50.0, 3600.0
    )
    assert aimed.next_poll_delay(3, 100.0, 90.0, 3600.0) == 11.0
    assert plain.next_poll_delay(3, 100.0, 90.0, 3600.0) == 18.0
    assert aimed.next_poll_delay(3, 100.0, 90.0, 3600.0, confirmed) == plain.next_poll_delay(
        3, 100.0, 90.0, 3600.0, confirmed
    )


def test_the_first_poll_aims_at_a_third_of_the_typical_time() -> None:
    assert next_poll_delay(0, 100.0, 0.0, 60.0, 3600.0) == 35.0
    assert next_poll_delay(0, 100.0, 30.0, 60.0, 3600.0) == 5.0
    assert next_poll_delay(0, 300.0, 0.0, 60.0, 3600.0) == 60.0


fractions = st.floats(min_value=0.01, max_value=0.99, allow_nan=False)


@given(st.floats(min_value=1.0, max_value=10_000.0), fractions, fractions)
def test_two_progress_readings_of_a_steady_job_predict_its_end_exactly(
    total: float, first: float, second: float
) -> None:
    early, late = sorted((first, second))
    assume(late - early >= 0.01)
    previous, latest = ProgressReading(early, early * total), ProgressReading(late, late * total)

    prediction = predict_end(latest, previous)

    assert prediction is not None and abs(prediction.end_s - total) <= 1e-6 * total
    assert prediction.resolved is (late - early >= PROGRESS_MIN_STEP)


@given(st.floats(min_value=1.0, max_value=10_000.0), st.floats(0.0, 1000.0), fractions)
def test_one_reading_after_time_spent_queued_predicts_late_never_early(
    run: float, queued: float, progress: float
) -> None:
    prediction = predict_end(ProgressReading(progress, queued + progress * run), None)

    assert prediction is not None and prediction.end_s >= (queued + run) * (1 - 1e-9)
    assert not prediction.resolved


def test_progress_that_is_zero_complete_or_going_backwards_predicts_nothing_or_falls_back() -> None:
    assert predict_end(ProgressReading(0.0, 10.0), None) is None
    assert predict_end(ProgressReading(1.0, 10.0), None) is None
    # A reading lower than the last one (noise) is not a rate: only the latest counts.
    backwards = predict_end(ProgressReading(0.5, 20.0), ProgressReading(0.6, 10.0))
    assert backwards == predict_end(ProgressReading(0.5, 20.0), None) == EndPrediction(40.0)


def test_a_prediction_is_confirmed_only_by_an_agreeing_resolved_one() -> None:
    latest, previous = ProgressReading(0.6, 60.0), ProgressReading(0.4, 40.0)

    agreeing = predict_end(latest, previous, previous_end_s=101.0)
    drifting = predict_end(latest, previous, previous_end_s=110.0)
    unresolved = predict_end(latest, ProgressReading(0.55, 55.0), previous_end_s=100.0)

    assert agreeing == EndPrediction(100.0, resolved=True, confirmed=True)
    assert drifting == EndPrediction(100.0, resolved=True, confirmed=False)
    assert unresolved is not None and not unresolved.confirmed


def test_an_unconfirmed_prediction_only_brings_the_next_poll_forward() -> None:
    planned = next_poll_delay(3, 100.0, 60.0, 60.0, 3600.0)
    sooner = next_poll_delay(3, 100.0, 60.0, 60.0, 3600.0, EndPrediction(65.0))
    later = next_poll_delay(3, 100.0, 60.0, 60.0, 3600.0, EndPrediction(150.0))

    assert planned == 12.0
    assert sooner == 5.0 + PROGRESS_MARGIN * 65.0
    assert later == planned


def test_a_confirmed_prediction_puts_the_next_poll_off_until_just_after_the_end() -> None:
    confirmed = EndPrediction(100.0, resolved=True, confirmed=True)

    assert next_poll_delay(3, 100.0, 60.0, 60.0, 3600.0, confirmed) == 40.0 + PROGRESS_MARGIN * 100
    assert next_poll_delay(3, 100.0, 60.0, 30.0, 3600.0, confirmed) == 30.0


@given(st.integers(0, 50), positive, seconds, seconds)
def test_an_unconfirmed_prediction_never_delays_a_poll_past_the_schedule(
    polls: int, typical: float, elapsed: float, end: float
) -> None:
    without = next_poll_delay(polls, typical, elapsed, 60.0, 3600.0)

    assert next_poll_delay(polls, typical, elapsed, 60.0, 3600.0, EndPrediction(end)) <= without


def test_an_end_predicted_too_soon_still_leaves_a_gap_and_is_ignored_past_the_budget() -> None:
    soon = EndPrediction(150.1)
    assert next_poll_delay(3, 100.0, 150.0, 60.0, 3600.0, soon) == PROGRESS_MIN_GAP * 150.0
    late = next_poll_delay(POLL_BUDGET, 100.0, 150.0, 60.0, 3600.0, soon)
    assert late == next_poll_delay(POLL_BUDGET, 100.0, 150.0, 60.0, 3600.0)


policies = st.builds(
    TimingPolicy,
    poll_cap_s=st.floats(min_value=0.01, max_value=1e7, allow_nan=False),
    retry_cap_s=st.floats(min_value=0.01, max_value=1e7, allow_nan=False),
    retry_base_s=st.floats(min_value=0.01, max_value=1e4, allow_nan=False),
)
retry_afters = st.none() | st.floats(min_value=-1e9, max_value=1e12, allow_nan=False)
maybe_predictions = st.none() | st.builds(
    EndPrediction, st.floats(min_value=-1e9, max_value=1e12, allow_nan=False), st.booleans(),
    st.booleans(),
)  # fmt: skip


@given(policies, attempts, retry_afters, seeds)
def test_no_retry_countdown_passes_the_bound(
    policy: TimingPolicy, attempt: int, retry_after: float | None, seed: int
) -> None:
    rng = random.Random(seed)
    for delay in (
        policy.retry_delay(attempt, retry_after, rng),
        policy.poll_retry_delay(attempt, retry_after, rng),
    ):
        assert 0.0 <= delay <= MAX_COUNTDOWN_S


@given(policies, attempts, positive, seconds, seconds, maybe_predictions)
def test_no_poll_countdown_passes_the_bound(
    policy: TimingPolicy,
    polls: int,
    typical: float,
    elapsed: float,
    remaining: float,
    prediction: EndPrediction | None,
) -> None:
    delays = (
        policy.first_poll_delay(typical * 1000, remaining),
        policy.next_poll_delay(polls, typical * 1000, elapsed, remaining, prediction),
        policy.reschedule_delay(elapsed * 1000, remaining),
    )
    assert all(0.0 <= delay <= MAX_COUNTDOWN_S for delay in delays)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_every_decision_leaving_the_pipeline_is_clamped(countdown: float) -> None:
    from pipeline.decisions import Step, Then

    assert 0.0 <= Then(Step.SUBMIT, countdown).countdown_s <= MAX_COUNTDOWN_S


def test_a_day_long_retry_after_waits_the_bound_not_the_day() -> None:
    assert POLICY.retry_delay(1, 86_400.0) == MAX_COUNTDOWN_S
    assert POLICY.poll_retry_delay(1, 86_400.0) == MAX_COUNTDOWN_S


def test_the_settings_cap_on_poll_intervals_is_the_countdown_bound() -> None:
    from config.settings import Settings

    field = Settings.model_fields["poll_max_interval_s"]
    assert any(getattr(m, "le", None) == MAX_COUNTDOWN_S for m in field.metadata)


@given(st.floats(min_value=6.0, max_value=1e5, allow_nan=False), seconds)
def test_the_submits_first_poll_is_the_schedules_first_poll(
    typical: float, remaining: float
) -> None:
    # Above the floor the two agree, so a simulation that starts from either counts real polls.
    assert POLICY.first_poll_delay(typical, remaining) == POLICY.next_poll_delay(
        0, typical, 0.0, remaining
    )
    assert POLICY.first_poll_delay(0.1, remaining) == min(POLICY.min_countdown_s, remaining)
