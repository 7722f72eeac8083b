"""Failover between providers: what only a job whose route names several providers does.

A segment of a long clip moves with its clip (`moving_together`), unless the clip lets its
segments mix providers. A job that finds every key of every provider full waits for the first
slot that frees on any of them (`pipeline.routing.pooling`) rather than park on one key, and a
job's segments follow the first that left (`move_clip`). A job of one provider
never runs this module: `pipeline.routing.route` calls it only for a route of several.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from config.settings import ProviderName
from jobs.clips.record import Clip
from jobs.delays import OUTAGE_WAIT
from jobs.limits.breaker import describe
from jobs.models import Job
from jobs.routes import Option
from pipeline.context import Context
from pipeline.decisions import Done
from pipeline.routing.pooling import unpark, wait_for_any
from pipeline.routing.survey import Survey

log = logging.getLogger(__name__)


def moving_together(ctx: Context, job: Job) -> Clip | None:
    """The clip of a segment that fails over with its clip's other segments (None: the job
    routes on its own: not a segment, pinned, or its clip lets segments mix providers)."""
    if job.clip_id is None or len(job.route) <= 1:
        return None
    clip = ctx.clips.get(job.clip_id)
    if clip is None or clip.mix_providers:
        return None
    return clip


def move_clip(
    ctx: Context, clip: Clip, provider: ProviderName, survey: Survey, clock: float, now: datetime
) -> None:
    """Send the clip's unsubmitted segments after the first one that left its provider."""
    states = "; ".join(
        f"{key}: {describe(circuit, clock)}"
        for (name, key), circuit in survey.circuits.items()
        if name == clip.provider
    )
    why = f"segments fail over {clip.provider} -> {provider}: {states or 'no key'}"
    moved = ctx.clips.move(
        clip, clip.state, expect={clip.state}, now=now, detail=why, provider=provider
    )
    if moved is not None:
        log.warning("clip %s: %s", clip.id, why, extra={"clip_id": clip.id})


def wait_for_any_slot(ctx: Context, job: Job, now: datetime, options: Sequence[Option]) -> Done:
    """Every provider is full: wait for the first key that frees rather than park on one."""
    wait_for_any(ctx, job, now)
    full = ", ".join(f"{o.provider} {o.queued}/{o.capacity}" for o in options)
    reason = f"every key is full ({full}); waiting for a free slot"
    return Done(reason, recheck_s=OUTAGE_WAIT.pool_recheck_s)


def park_or_pool(ctx: Context, job: Job, parked_reason: str, now: datetime) -> str | None:
    """A job the limiter just parked on one key, when it may go to several providers: out of
    that queue and onto the pool-wide list. The new reason, or None to stay parked."""
    if len(job.route) <= 1 or moving_together(ctx, job) is not None:
        return None  # a segment waits for its clip's provider while that can serve
    current = ctx.ledger.get(job.id)
    if current is None or current.key_id is None:
        return None
    unpark(ctx, current)
    wait_for_any(ctx, current, now)
    return f"{parked_reason}; waiting for a free slot of any provider instead"
