"""Every delay restyle waits on outside the poll schedule, side by side, each with its reason.

`jobs.timing.TimingPolicy` owns the poll schedule and a failing call's backoff; the policies
here own the rest: how a step retries over a Redis outage, how long a job waits without a
message before the watch index re-drives it, the failover timers, the callback backstop and the
circuit breakers' cooldowns. Settings override them where they did before (the breaker's
cooldowns, ``RESTYLE_POLL_MAX_INTERVAL_S`` for the backstop's cap); the rest are fixed here.
Every countdown still passes `jobs.timing.clamp_countdown`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StepRetry:
    """A step that met a Redis outage (or a costly write not yet on a replica) runs again.

    Redis calls already retry over a failover (`config.redis`); past that bound a step backs off
    exponentially from 2 s to a minute, jittered so a worker fleet does not return in step.
    """

    backoff_s: int = 2
    backoff_max_s: int = 60
    jitter: bool = True


@dataclass(frozen=True)
class ParkedRecheck:
    """A job the limiter parks gets no message: the step that frees a slot hands it on. The
    watch index re-drives it if that wake-up is lost: after twice the limiter's guess of the
    wait, at least a minute (a slot turns over in about a job's time), at most an hour."""

    min_s: float = 60.0
    max_s: float = 3600.0

    def after(self, retry_after_s: float) -> float:
        """The fallback recheck of a job parked for about ``retry_after_s``."""
        return min(max(2 * retry_after_s, self.min_s), self.max_s)


@dataclass(frozen=True)
class OutageWait:
    """A job with nowhere to submit (open circuits, every key full) waits until its deadline."""

    recheck_max_s: float = 3600.0
    """A job waiting on the outage list without a message is re-driven at least hourly."""
    timer_slack_s: float = 0.05
    """A circuit's timer fires just after its cooldown ends, so the probe finds it half-open."""
    probe_taken_s: float = 1.0
    """Another job took a half-open circuit's probe: ask again in a second (the probe's answer
    is a POST away)."""
    reroute_after_s: float = 0.5
    """A key's cooldown when another provider or key is ready: come back at once and go there."""
    pool_recheck_s: float = 60.0
    """A job waiting for a free slot of any provider: the fallback if its wake-up is lost."""


@dataclass(frozen=True)
class CallbackBackstop:
    """Polls of a job that registered a callback are only a backstop: the callback wakes the
    poll. They come `factor` times further apart, up to `cap` times the poll cap (a poll renews
    the job's slot lease, which lasts three caps)."""

    factor: float = 4.0
    cap: float = 2.0

    def widen(self, delay_s: float, poll_max_interval_s: float) -> float:
        """The next poll's delay ``delay_s`` for a job that will be called back."""
        return max(delay_s, min(delay_s * self.factor, self.cap * poll_max_interval_s))


@dataclass(frozen=True)
class BreakerPolicy:
    """A circuit breaker's knobs (`jobs.limits.breaker`); cooldowns are per cause, before
    doubling. The cooldowns come from settings (`pipeline.context.breaker_policy`)."""

    window_s: float = 60.0
    min_calls: int = 5
    error_rate: float = 0.5
    cooldown_s: float = 30.0
    """An outage without Retry-After: long enough for a restart, short against a job's time."""
    max_cooldown_s: float = 600.0
    """Doubling stops here: a provider back after ten minutes is found within ten more."""
    credits_cooldown_s: float = 300.0
    """A top-up is a human's act: minutes, not seconds."""
    daily_cap_cooldown_s: float = 3600.0
    """Runway does not say when its rolling 24 h window frees: retry the key hourly."""
    auth_cooldown_s: float = 900.0
    probe_lease_s: float = 60.0
    """A probe whose worker died is replaced after this (a read timeout plus slack)."""

    def base_cooldown(self, cause: str) -> float:
        """The first cooldown for an outcome (`jobs.limits.breaker.Outcome`) without a
        Retry-After."""
        return {
            "credits": self.credits_cooldown_s,
            "daily_cap": self.daily_cap_cooldown_s,
            "auth": self.auth_cooldown_s,
        }.get(cause, self.cooldown_s)

    def longest_cooldown(self, cause: str) -> float:
        """The cap on doubling: a cause whose first cooldown is longer keeps it."""
        return max(self.max_cooldown_s, self.base_cooldown(cause))


STEP_RETRY = StepRetry()
PARKED_RECHECK = ParkedRecheck()
OUTAGE_WAIT = OutageWait()
CALLBACK_BACKSTOP = CallbackBackstop()
