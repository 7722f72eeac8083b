"""Pure timing decisions: retry backoff and the poll schedule. No I/O; time is passed in.

The poll schedule and a failing call's backoff come from one `TimingPolicy`, which owns the
first poll, the floors and the caps; every other delay (step retries over a Redis outage, parked
rechecks, outage timers, the callback backstop, breaker cooldowns) is a named policy beside it in
`jobs.delays`. `clamp_countdown` clamps every countdown to `MAX_COUNTDOWN_S`: a Redis-broker
message that waits longer than the visibility timeout is handed to a second worker, again and
again, so workers refuse at start a visibility timeout under `VISIBILITY_MARGIN` x that bound,
and no code path can schedule past it (not even a provider answering ``Retry-After: 86400``:
the job asks again after the bound, and the limiter's cooldown keeps the key quiet meanwhile).

The poll schedule aims at two goals for remote jobs lasting 30-180 s with a typical 100 s:
few status requests per job (<= 8) and a detection delay (from the remote job's end to the poll
that sees it) under 10% of the job's time. Both cannot hold for every job at once: to keep the
delay under 10% of *any* duration, each poll may come at most 10% after the previous one and
the first one by 33 s, which takes 19 polls to reach 180 s. So the schedule meets both goals on
average over the spread (uniform or peaked at the typical time) and bounds the worst case:

- first poll at 0.35 x typical (35 s), then every 20% of the time elapsed, floor 2 s, cap
  ``poll_cap_s``, never past the deadline;
- over 30-180 s: about 7 polls and a 9% delay on average; at most 11 polls (10 without the poll
  aimed at the typical end, below), and at most 20% delay for jobs longer than the first poll
  (tests/jobs/test_poll_schedule.py prints the figures: 7.03 polls on average with the aimed
  poll, 6.95 without, uniform over 30-180 s);
- past `LATE_AFTER_TYPICAL` x typical (a job far slower than usual) the interval grows twice as
  fast, so a job stuck in a provider's queue does not keep spending the key's request rate;
- one poll lands just after the typical end (``typical_end_margin`` past it): the poll that
  would cross it is brought forward to it, below the floor if need be. A provider's jobs bunch
  around its typical time (jobs of one kind and length, as a batch sends, all the more), and
  when they end on a full key the next waiting job can only start once one of them is seen
  ended: without this poll they are seen up to a whole interval late, every wave (issue 25).
  It costs at most one poll per job, and none where the crossing poll lands after the end
  anyway; later polls follow the schedule from there, so they back off again.

When the provider reports progress (Runway's ``progress`` while RUNNING), the job's end can be
predicted (`predict_end`) by extrapolating the rate between two readings:

- a prediction is used to bring the next poll forward to just after the predicted end, never to
  put it off: a wrong one costs a poll, not delay;
- a *confirmed* prediction may put the next poll off until just after the predicted end (still
  within ``poll_cap_s``): two consecutive rates, each over at least `PROGRESS_MIN_STEP` of progress,
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

import math
import random
from dataclasses import dataclass

MAX_COUNTDOWN_S = 600.0
"""The longest countdown any message carries, whatever a provider or a setting asks for."""
VISIBILITY_MARGIN = 10
"""How many times `MAX_COUNTDOWN_S` the broker's visibility timeout must be (checked at start)."""

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
POLL_RETRY_MAX_ATTEMPT = 6
"""A failing poll's backoff stops growing here: the job holds a concurrency slot while it waits."""

MAX_EXPONENT = 62
_rng = random.Random()


def clamp_countdown(seconds: float) -> float:
    """``seconds`` within [0, `MAX_COUNTDOWN_S`]; the one bound every countdown goes through."""
    if math.isnan(seconds):
        return MAX_COUNTDOWN_S
    return min(max(seconds, 0.0), MAX_COUNTDOWN_S)


def backoff_delay(attempt: int, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^attempt)]."""
    ceiling = min(cap_s, base_s * 2.0 ** min(max(attempt, 0), MAX_EXPONENT))
    return rng.uniform(0.0, ceiling)


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


@dataclass(frozen=True)
class TimingPolicy:
    """Every delay restyle schedules: first poll, poll growth, retry backoff, limiter cooldowns.

    - ``first_poll_fraction`` x typical: the first poll (the same schedule as every later one,
      so the simulation in tests/jobs/test_poll_schedule.py counts exactly the polls a job makes);
    - one poll at (1 + ``typical_end_margin``) x typical, the expected end;
    - ``poll_growth`` x elapsed: later polls, faster (``late_growth_factor``) once a job takes
      ``late_after_typical`` x typical; never under ``poll_floor_s`` nor over ``poll_cap_s``;
    - retries: full-jitter backoff from ``retry_base_s`` up to ``retry_cap_s``, never sooner
      than Retry-After (plus up to ``retry_after_spread`` of it, so waiting workers spread out);
    - the limiter's cooldown after a 429 without Retry-After: ``cooldown_base_s`` doubling up to
      ``cooldown_cap_s``;
    - ``min_countdown_s``: the shortest countdown a step reschedules itself with;
    - every result within `clamp_countdown`.
    """

    first_poll_fraction: float = 0.35
    typical_end_margin: float | None = 0.01
    """How far past the typical end the poll aimed at it lands, as a fraction of the typical
    time (None: no aimed poll). Remote time starts a little before ``submitted_at`` (the POST's
    answer), so a margin this small still lands after a job that takes the typical time."""
    poll_growth: float = 0.2
    poll_floor_s: float = 2.0
    poll_cap_s: float = 60.0
    late_after_typical: float = 2.0
    late_growth_factor: float = 2.0
    retry_base_s: float = 2.0
    retry_cap_s: float = 300.0
    retry_after_spread: float = 0.1
    cooldown_base_s: float = 1.0
    cooldown_cap_s: float = 60.0
    min_countdown_s: float = 0.5

    def first_poll_delay(self, typical_s: float, deadline_remaining_s: float) -> float:
        """Seconds from a submit to its job's first status request: the schedule's first poll.

        ``poll_floor_s`` spaces polls out; one first request needs only ``min_countdown_s``.
        """
        first = self.first_poll_fraction * typical_s
        delay = min(max(first, self.min_countdown_s), self.poll_cap_s)
        return clamp_countdown(min(delay, deadline_remaining_s))

    def next_poll_delay(
        self,
        polls_done: int,
        typical_s: float,
        elapsed_s: float,
        deadline_remaining_s: float,
        prediction: EndPrediction | None = None,
    ) -> float:
        """Seconds until the next status request of a remote job (see the module docstring)."""
        first_at = self.first_poll_fraction * typical_s
        if elapsed_s < first_at:
            delay = first_at - elapsed_s
        else:
            late = elapsed_s >= self.late_after_typical * typical_s
            delay = self.poll_growth * (self.late_growth_factor if late else 1.0) * elapsed_s
        floor = self.poll_floor_s
        to_end = self.typical_end_delay(typical_s, elapsed_s)
        if to_end is not None and to_end < delay:
            delay, floor = to_end, self.min_countdown_s
        if prediction is not None and polls_done < POLL_BUDGET:
            eta = max(prediction.end_s - elapsed_s, 0.0)
            aim = max(eta + PROGRESS_MARGIN * prediction.end_s, PROGRESS_MIN_GAP * elapsed_s)
            if prediction.confirmed:  # the job's own end, known better than the typical one
                delay, floor = aim, self.poll_floor_s
            else:
                delay = min(delay, aim)
        delay = min(max(delay, floor), self.poll_cap_s)
        return clamp_countdown(min(delay, deadline_remaining_s))

    def typical_end_delay(self, typical_s: float, elapsed_s: float) -> float | None:
        """Seconds from ``elapsed_s`` to the poll aimed just after the typical end, or None once
        it is due (or when there is no aimed poll)."""
        if self.typical_end_margin is None:
            return None
        to_end = (1.0 + self.typical_end_margin) * typical_s - elapsed_s
        return to_end if to_end > 0.0 else None

    def retry_delay(
        self, attempt: int, retry_after_s: float | None, rng: random.Random | None = None
    ) -> float:
        """Seconds before retrying a failed call: backoff, and never sooner than Retry-After
        (up to `MAX_COUNTDOWN_S`, past which the limiter's cooldown holds the key instead)."""
        rng = rng or _rng
        backoff = backoff_delay(attempt, self.retry_base_s, self.retry_cap_s, rng)
        if retry_after_s is None:
            return clamp_countdown(backoff)
        wait = max(retry_after_s, 0.0)
        return clamp_countdown(
            max(backoff, wait + rng.uniform(0.0, self.retry_after_spread * wait))
        )

    def poll_retry_delay(
        self, polls_done: int, retry_after_s: float | None, rng: random.Random | None = None
    ) -> float:
        """Seconds before re-polling after a retryable failure of the status request.

        The job holds a concurrency slot while it waits: back off no longer than the poll cap,
        unless the provider itself asks for longer.
        """
        cap = max(self.poll_cap_s, retry_after_s or 0.0)
        delay = self.retry_delay(min(polls_done, POLL_RETRY_MAX_ATTEMPT), retry_after_s, rng)
        return self.reschedule_delay(min(delay, cap))

    def reschedule_delay(self, delay_s: float, deadline_remaining_s: float = math.inf) -> float:
        """A step's own countdown: at least ``min_countdown_s``, and not past the deadline
        (but at least ``min_countdown_s`` then too, so the step that finds it passed runs)."""
        delay = min(delay_s, max(deadline_remaining_s, self.min_countdown_s))
        return clamp_countdown(max(delay, self.min_countdown_s))

    def cooldown_bounds(self) -> tuple[float, float]:
        """The limiter's cooldown after a throttle without Retry-After: first and largest."""
        return self.cooldown_base_s, self.cooldown_cap_s


POLICY = TimingPolicy()
"""The default policy; workers build theirs from settings (`Context.timing`)."""


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
