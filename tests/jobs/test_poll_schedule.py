"""A pure simulation of the poll schedule over remote jobs of 30-180 s (typical 100 s).

Goal: <= 8 status requests per job and a detection delay <= 10% of the job's time. Without
progress both cannot hold for every duration (see jobs/timing.py); the schedule meets both on
average over the spread, uniform or peaked at the typical time, and bounds the worst case. With
progress (Runway), both hold for every job; progress that is not proportional to time costs
polls, not delay.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from jobs.timing import EndPrediction, ProgressReading, TimingPolicy, predict_end

TYPICAL_S = 100.0
CAP_S = 60.0
DEADLINE_S = 3 * 3600.0
POLICY = TimingPolicy(poll_cap_s=CAP_S)


@dataclass(frozen=True)
class Outcome:
    polls: int
    delay_s: float
    duration_s: float

    @property
    def relative_delay(self) -> float:
        return self.delay_s / self.duration_s


def simulate(duration_s: float) -> Outcome:
    """Poll one remote job lasting ``duration_s`` until a poll sees it finished."""
    # The first poll is the one the submit step schedules, as in pipeline/submitting.py.
    elapsed, polls = POLICY.first_poll_delay(TYPICAL_S, DEADLINE_S), 1
    while elapsed < duration_s:
        elapsed += POLICY.next_poll_delay(polls, TYPICAL_S, elapsed, DEADLINE_S - elapsed)
        polls += 1
    return Outcome(polls, elapsed - duration_s, duration_s)


def simulate_with_progress(
    queued_s: float, running_s: float, exponent: float = 1.0, step: float = 0.001
) -> Outcome:
    """Like `simulate`, for a job queued ``queued_s`` (no progress) then running ``running_s``
    and reporting the fraction of its running time gone, raised to ``exponent``, in ``step``s."""
    duration = queued_s + running_s
    elapsed, polls = 0.0, 0
    previous: ProgressReading | None = None
    prediction: EndPrediction | None = None
    while True:
        if polls == 0:
            elapsed = POLICY.first_poll_delay(TYPICAL_S, DEADLINE_S)
        else:
            elapsed += POLICY.next_poll_delay(
                polls, TYPICAL_S, elapsed, DEADLINE_S - elapsed, prediction
            )
        polls += 1
        if elapsed >= duration:
            return Outcome(polls, elapsed - duration, duration)
        if elapsed > queued_s:
            progress = round(((elapsed - queued_s) / running_s) ** exponent / step) * step
            reading = ProgressReading(min(progress, 0.99), elapsed)
            kept = prediction.end_s if prediction is not None and prediction.resolved else None
            prediction = predict_end(reading, previous, kept)
            previous = reading


def summary(durations: list[float]) -> dict[str, float]:
    outcomes = [simulate(d) for d in durations]
    return {
        "mean_polls": sum(o.polls for o in outcomes) / len(outcomes),
        "max_polls": max(o.polls for o in outcomes),
        "mean_relative_delay": sum(o.relative_delay for o in outcomes) / len(outcomes),
        "worst_relative_delay": max(o.relative_delay for o in outcomes),
        "worst_relative_delay_after_first_poll": max(
            o.relative_delay for o in outcomes if o.duration_s >= 0.35 * TYPICAL_S
        ),
        "worst_delay_s": max(o.delay_s for o in outcomes),
    }


def test_uniform_job_times_get_few_polls_and_a_small_detection_delay() -> None:
    figures = summary([30 + 150 * i / 2000 for i in range(2001)])
    print("uniform 30-180 s:", {k: round(v, 3) for k, v in figures.items()})

    assert figures["mean_polls"] <= 8
    assert figures["mean_relative_delay"] <= 0.10
    assert figures["max_polls"] <= 11  # 10, plus the poll aimed at the typical end
    assert figures["worst_relative_delay_after_first_poll"] <= 0.20 + 1e-9
    assert figures["worst_delay_s"] <= 0.20 * 180 + 1e-9


def test_job_times_peaked_at_the_typical_time_get_few_polls_and_a_small_delay() -> None:
    rng = random.Random(3)
    figures = summary([rng.triangular(30, 180, TYPICAL_S) for _ in range(5000)])
    print("triangular 30-100-180 s:", {k: round(v, 3) for k, v in figures.items()})

    assert figures["mean_polls"] <= 8
    assert figures["mean_relative_delay"] <= 0.10
    assert figures["max_polls"] <= 11  # 10, plus the poll aimed at the typical end


def test_a_job_far_slower_than_typical_polls_sparingly_at_the_cap() -> None:
    hour = simulate(3600.0)

    assert hour.polls <= 75
    assert hour.delay_s <= CAP_S


def progress_summary(exponent: float, step: float = 0.001) -> dict[str, float]:
    """Uniform 30-180 s jobs, 0-30% of each queued (PENDING, no progress)."""
    rng = random.Random(5)
    outcomes = []
    for i in range(2001):
        duration = 30 + 150 * i / 2000
        queued = rng.uniform(0.0, 0.3) * duration
        outcomes.append(simulate_with_progress(queued, duration - queued, exponent, step))
    delays = sorted(o.relative_delay for o in outcomes)
    return {
        "mean_polls": sum(o.polls for o in outcomes) / len(outcomes),
        "max_polls": max(o.polls for o in outcomes),
        "p95_relative_delay": delays[int(0.95 * len(delays))],
        "worst_relative_delay_after_first_poll": max(
            o.relative_delay for o in outcomes if o.duration_s >= 0.35 * TYPICAL_S
        ),
    }


def test_with_steady_progress_jobs_get_fewer_polls_and_a_delay_under_ten_percent() -> None:
    figures = progress_summary(1.0)
    print("uniform 30-180 s, steady progress:", {k: round(v, 3) for k, v in figures.items()})
    without = summary([30 + 150 * i / 2000 for i in range(2001)])

    assert figures["mean_polls"] < without["mean_polls"]
    assert figures["p95_relative_delay"] <= 0.05
    assert figures["worst_relative_delay_after_first_poll"] <= 0.10


def test_curved_or_coarse_progress_costs_no_more_delay_than_no_progress() -> None:
    for exponent, step in ((0.7, 0.001), (1.4, 0.001), (2.0, 0.01), (1.0, 0.05)):
        figures = progress_summary(exponent, step)
        print(f"progress ** {exponent} in steps of {step}:", figures)

        assert figures["worst_relative_delay_after_first_poll"] <= 0.20 + 1e-9
        assert figures["max_polls"] <= 11
