"""Clips whose media message was lost (a killed media worker, a restarted broker): re-drive them.

A clip is on the watch list from the moment a cut, an anchor frame or a stitch is due until
it is done; past its time the step its state calls for is sent again (every step is
idempotent, so a message that was merely slow costs one no-op task).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from jobs.clips.record import Clip, ClipState
from pipeline.context import Context
from pipeline.decisions import ClipNext, ClipStep


def stranded_clips(ctx: Context, now: datetime, limit: int = 1000) -> list[ClipNext]:
    """The media steps to send again, each clip watched anew for another stall period."""
    redrives: list[ClipNext] = []
    again = now + timedelta(seconds=ctx.settings.media_stall_s)
    overdue = ctx.clips.overdue(now, limit)
    clips = ctx.clips.get_many(overdue)
    for gone in set(overdue) - {clip.id for clip in clips}:
        ctx.clips.unwatch(gone)  # its record expired
    for clip in clips:
        step = step_for(clip, ctx.clips.stitch_claimed(clip.id))
        if step is None:
            ctx.clips.unwatch(clip.id)
            continue
        ctx.clips.watch(clip.id, again)
        redrives.append(ClipNext(step, clip.id))
    return redrives


def step_for(clip: Clip, stitch_claimed: bool) -> ClipStep | None:
    """The media step a watched clip in its state is waiting for (None: nothing)."""
    if clip.state is ClipState.CUTTING:
        return ClipStep.CUT
    if clip.state is ClipState.STITCHING or (clip.state is ClipState.EDITING and stitch_claimed):
        return ClipStep.STITCH
    if clip.state is ClipState.EDITING:
        return ClipStep.ANCHOR
    return None
