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
- past `POLL_BUDGET` polls (a job far slower than usual) the interval grows twice as fast, so a
  job stuck in a provider's queue does not keep spending the key's request rate.

Schedules depend on the time elapsed since submit rather than on the number of polls, so a poll
lost or duplicated along the way does not shift the rest.
"""

from __future__ import annotations

import random

FIRST_POLL_FRACTION = 0.35
POLL_GROWTH = 0.2
POLL_FLOOR_S = 2.0
POLL_BUDGET = 10
LATE_GROWTH_FACTOR = 2.0

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


def next_poll_delay(
    polls_done: int,
    typical_s: float,
    elapsed_s: float,
    cap_s: float,
    deadline_remaining_s: float,
) -> float:
    """Seconds until the next status request of a remote job (see the module docstring)."""
    first_at = FIRST_POLL_FRACTION * typical_s
    if elapsed_s < first_at:
        delay = first_at - elapsed_s
    else:
        growth = POLL_GROWTH * (LATE_GROWTH_FACTOR if polls_done >= POLL_BUDGET else 1.0)
        delay = growth * elapsed_s
    delay = min(max(delay, POLL_FLOOR_S), cap_s)
    return max(min(delay, deadline_remaining_s), 0.0)
