"""How late polling notices a finished remote job, as a histogram in Redis for ``/metrics``.

The delay is bounded by the time since the last poll that saw the job still running (or since
the submit, for a job found finished at its first poll): the job ended somewhere in between.
Workers add this bound once per finished job; ``restyle web`` reads the buckets. Jobs woken by
a crun callback are left out: their polls are a backstop, and the callback bench measures them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import redis

from jobs import redis_keys
from jobs.models import Job
from pipeline.callbacks import has_callback

if TYPE_CHECKING:
    from pipeline.context import Context

BUCKETS_S = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


def bucket_of(seconds: float) -> str:
    """The smallest bound at or above ``seconds`` (``+Inf`` past the last one)."""
    for bound in BUCKETS_S:
        if seconds <= bound:
            return str(bound)
    return "+Inf"


def record(client: redis.Redis[bytes], provider: str, seconds: float) -> None:
    """Add one detection delay of ``provider``."""
    name = redis_keys.poll_detection(provider)
    pipe = client.pipeline(transaction=False)
    pipe.hincrby(name, bucket_of(max(seconds, 0.0)), 1)
    pipe.hincrbyfloat(name, "sum", max(seconds, 0.0))
    pipe.hincrby(name, "count", 1)
    pipe.execute()


def observe(ctx: Context, job: Job, now: datetime) -> None:
    """Record the bound of ``job``'s detection delay, found finished at ``now``."""
    if has_callback(ctx.redis, job):
        return
    seen_running = job.last_poll_at or job.submitted_at or now
    record(ctx.redis, job.provider.value, (now - seen_running).total_seconds())


@dataclass(frozen=True)
class Histogram:
    """Cumulative buckets (bound, count) ending with +Inf, the sum and the count."""

    buckets: list[tuple[str, float]]
    total_s: float


def read(client: redis.Redis[bytes], provider: str) -> Histogram | None:
    """``provider``'s histogram, or None before its first observation."""
    raw = {
        k.decode(): float(v) for k, v in client.hgetall(redis_keys.poll_detection(provider)).items()
    }
    if not raw:
        return None
    running, buckets = 0.0, []
    for bound in (*BUCKETS_S, math.inf):
        label = "+Inf" if bound == math.inf else str(bound)
        running += raw.get(label, 0.0)
        buckets.append((label, running))
    return Histogram(buckets, raw.get("sum", 0.0))
