"""Pure timing decisions: retry backoff and the poll schedule. No I/O; time is passed in.

The poll schedule aims at two goals for remote jobs lasting 30-180 s with a typical 100 s:
few status requests per job (<= 8) and a detection delay (from the remote job's end to the poll
that sees it) under 10% of the job's time. Both cannot hold for every job at once: to keep the
delay under 10% of *any* duration, each poll may come at most 10% after the previous one and
the first one by 33 s, which takes 19 polls to reach 180 s. So the schedule meets both goals on
average over the spread (uniform or peaked at the typical time) and bounds the worst case:

- first poll at 0.35 x typical (35 s), then every 20% of the time elapsed, floor 2 s, cap
  ``cap_s``, never past the deadline;
- over 30-180 s: about 7 polls and a 9% delay on average; at most 10 polls, and at most 20% delay
  for jobs longer than the first poll (tests/jobs/test_poll_schedule.py prints the figures);
- past `LATE_AFTER_TYPICAL` x typical (a job far slower than usual) the interval grows twice as
  fast, so a job stuck in a provider's queue does not keep spending the key's request rate.

When the provider reports progress (Runway's ``progress`` while RUNNING), the job's end can be
predicted (`predict_end`) by extrapolating the rate between two readings:

- a prediction is used to bring the next poll forward to just after the predicted end, never to
  put it off: a wrong one costs a poll, not delay;
- a *confirmed* prediction may put the next poll off until just after the predicted end (still
  within ``cap_s``): two consecutive rates, each over at least `PROGRESS_MIN_STEP` of progress,
  predicting the same end within `PROGRESS_AGREEMENT` of the time left. Progress that is not
  proportional to time, or too coarse to measure a rate, seldom confirms, and the job keeps the
  schedule above (tests/jobs/test_poll_schedule.py tries curved and coarse progress);
- past `POLL_BUDGET` polls predictions are ignored, so progress that keeps promising an end that
  never comes costs a bounded number of polls.

With steady progress, over 30-180 s: about 5.7 polls, a p95 delay of 4.4% and at most 7.4%; with
curved or coarse progress, as many polls as without and a p95 delay of at most 7%.

Schedules depend on the time elapsed since submit rather than on the number of polls, so a poll
lost or duplicated along the way does not shift the rest.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

FIRST_POLL_FRACTION = 0.35
POLL_GROWTH = 0.2
POLL_FLOOR_S = 2.0
LATE_AFTER_TYPICAL = 2.0
LATE_GROWTH_FACTOR = 2.0

POLL_BUDGET = 10
"""Polls after which progress predictions are no longer trusted to bring a poll forward."""
PROGRESS_MARGIN = 0.03
"""How far past the predicted end to poll, as a fraction of the predicted total time: enough to
land after the end despite a slightly optimistic prediction, small next to the 10% goal."""
PROGRESS_MIN_GAP = 0.05
"""The shortest progress-guided interval, as a fraction of the time elapsed."""
PROGRESS_MIN_STEP = 0.1
"""The least progress between two readings for their rate to count towards a confirmation: with
progress reported in steps of 1%, a rate over 10% is known within 10%."""
PROGRESS_AGREEMENT = 0.05
"""How close (as a fraction of the time left) two predictions must be to confirm each other."""

RETRY_BASE_S = 2.0
RETRY_CAP_S = 300.0
RETRY_AFTER_SPREAD = 0.1
"""Jitter added on top of Retry-After (as a fraction of it) so waiting workers do not stampede."""

MAX_EXPONENT = 62
_rng = random.Random()


def backoff_delay(attempt: int, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^attempt)]."""
    ceiling = min(cap_s, base_s * 2.0 ** min(max(attempt, 0), MAX_EXPONENT))
    return rng.uniform(0.0, ceiling)


def retry_delay(
    attempt: int,
    retry_after_s: float | None,
    base_s: float = RETRY_BASE_S,
    cap_s: float = RETRY_CAP_S,
    rng: random.Random | None = None,
) -> float:
    """Seconds before retrying a failed call: backoff, and never sooner than Retry-After."""
    rng = rng or _rng
    backoff = backoff_delay(attempt, base_s, cap_s, rng)
    if retry_after_s is None:
        return backoff
    wait = max(retry_after_s, 0.0)
    return max(backoff, wait + rng.uniform(0.0, RETRY_AFTER_SPREAD * wait))


@dataclass(frozen=True)
class ProgressReading:
    """A provider's reported progress (0 to 1) and when it was read, in seconds since submit."""

    progress: float
    elapsed_s: float


@dataclass(frozen=True)
class EndPrediction:
    """When a remote job should end, in seconds since submit, and how far to trust it.

    ``resolved``: from two readings at least `PROGRESS_MIN_STEP` apart. ``confirmed``: resolved,
    and the previous poll's resolved prediction agrees with it.
    """

    end_s: float
    resolved: bool = False
    confirmed: bool = False


def predict_end(
    latest: ProgressReading,
    previous: ProgressReading | None,
    previous_end_s: float | None = None,
) -> EndPrediction | None:
    """The end that ``latest`` progress predicts, or None when progress tells nothing.

    With two readings, the rate between them: it does not depend on when the job started to run.
    With one, progress over the time since submit: time spent queued makes that rate too slow and
    the prediction late, never early. ``previous_end_s`` is the last poll's resolved prediction.
    """
    if not 0.0 < latest.progress < 1.0 or latest.elapsed_s <= 0.0:
        return None
    step = 0.0
    if previous is not None and previous.elapsed_s < latest.elapsed_s:
        step = latest.progress - previous.progress
    if previous is not None and step > 0.0:
        rate = step / (latest.elapsed_s - previous.elapsed_s)
    else:
        rate = latest.progress / latest.elapsed_s
    eta = (1.0 - latest.progress) / rate
    end = latest.elapsed_s + eta
    resolved = step >= PROGRESS_MIN_STEP
    confirmed = (
        resolved
        and previous_end_s is not None
        and abs(end - previous_end_s) <= PROGRESS_AGREEMENT * eta
    )
    return EndPrediction(end, resolved, confirmed)


def next_poll_delay(
    polls_done: int,
    typical_s: float,
    elapsed_s: float,
    cap_s: float,
    deadline_remaining_s: float,
    prediction: EndPrediction | None = None,
) -> float:
    """Seconds until the next status request of a remote job (see the module docstring)."""
    first_at = FIRST_POLL_FRACTION * typical_s
    if elapsed_s < first_at:
        delay = first_at - elapsed_s
    else:
        late = elapsed_s >= LATE_AFTER_TYPICAL * typical_s
        delay = POLL_GROWTH * (LATE_GROWTH_FACTOR if late else 1.0) * elapsed_s
    if prediction is not None and polls_done < POLL_BUDGET:
        eta = max(prediction.end_s - elapsed_s, 0.0)
        aim = max(eta + PROGRESS_MARGIN * prediction.end_s, PROGRESS_MIN_GAP * elapsed_s)
        delay = aim if prediction.confirmed else min(delay, aim)
    delay = min(max(delay, POLL_FLOOR_S), cap_s)
    return max(min(delay, deadline_remaining_s), 0.0)
