"""What a clip needs when one of its segments ends: its anchor frame, its stitch, or to fail.

The ledger decides the stitch (`jobs.ledger.Moved.stitch_due`, set for exactly one writer);
this module only turns that into the next media step and puts the clip on the watch list, so a
message lost with a killed worker is re-driven by the reconciler.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from jobs.clips.record import ClipState, Continuity
from jobs.ledger import Moved
from jobs.models import Job
from pipeline.context import Context
from pipeline.decisions import ClipNext, ClipStep

log = logging.getLogger(__name__)

OPEN = frozenset({ClipState.EDITING, ClipState.STITCHING})


def before_segment_stored(ctx: Context, job: Job, now: datetime) -> None:
    """Watch an anchored clip before its segment 1 is stored: a worker killed between that
    write and sending the anchor step leaves the clip to the reconciler, not stranded."""
    if job.clip_id is None or job.segment != 1:
        return
    clip = ctx.clips.get(job.clip_id)
    if clip is not None and clip.continuity is Continuity.ANCHOR:
        ctx.clips.watch(job.clip_id, now + timedelta(seconds=ctx.settings.media_stall_s))


def after_segment_stored(ctx: Context, moved: Moved, now: datetime) -> ClipNext | None:
    """The media step a clip needs now that segment ``moved.job`` is stored, if any."""
    job = moved.job
    assert job.clip_id is not None
    due = now + timedelta(seconds=ctx.settings.media_stall_s)
    if moved.stitch_due:
        ctx.clips.watch(job.clip_id, due)
        return ClipNext(ClipStep.STITCH, job.clip_id)
    if job.segment == 1:
        clip = ctx.clips.get(job.clip_id)
        if clip is not None and clip.continuity is Continuity.ANCHOR:
            ctx.clips.watch(job.clip_id, due)
            return ClipNext(ClipStep.ANCHOR, job.clip_id)
    return None


def fail_clip_of(ctx: Context, job: Job, now: datetime, why: str) -> None:
    """Fail the clip of segment ``job``, naming the segment; its stored segments are kept."""
    if job.clip_id is None:
        return
    message = f"segment {job.segment} ({job.provider}): {why}"
    failed = ctx.clips.move(
        job.clip_id,
        ClipState.FAILED,
        expect=OPEN | {ClipState.CUTTING},
        now=now,
        detail=message,
        failure_message=message,
    )
    if failed is not None:
        ctx.clips.unwatch(job.clip_id)
        log.warning("clip %s failed: %s", job.clip_id, message, extra={"batch": job.batch})
