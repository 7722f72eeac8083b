"""Re-drive at once the work whose worker died: its lease lapsed (see jobs.liveness).

The stall timers of `pipeline.reconciling` (the submit grace, ``archive_stall_s``,
``media_stall_s``) stay as the backstop for work held without a lease; this pass, run every
``liveness_sweep_s`` by beat (``restyle.reclaim``), only looks at work whose holder died.
"""

from __future__ import annotations

from datetime import datetime

from jobs.clips.record import ClipState
from jobs.liveness.lease import Holder, needs_redrive
from jobs.liveness.store import clip_subject, job_subject
from jobs.states import JobState
from pipeline.clips.reconciling import step_for
from pipeline.context import Context
from pipeline.decisions import ClipNext, Step
from pipeline.reconciling import Redrive

LEASED_STEPS = {JobState.SUBMITTING: Step.SUBMIT, JobState.ARCHIVING: Step.ARCHIVE}
LEASED_CLIP_STATES = frozenset({ClipState.CUTTING, ClipState.EDITING, ClipState.STITCHING})


def held_live(ctx: Context, subject: str) -> bool:
    """A live worker holds ``subject``'s lease (always False with leases off)."""
    return ctx.heartbeat.enabled and ctx.leases.view(subject).holder is Holder.LIVE


def lapsed_jobs(ctx: Context, now: datetime, limit: int = 1000) -> list[Redrive]:
    """Jobs in SUBMITTING or ARCHIVING whose holder's lease lapsed, each claimed for one
    re-drive (a concurrent pass that marked it first re-drives it instead)."""
    if not ctx.heartbeat.enabled:
        return []
    redrives = []
    for state, step in LEASED_STEPS.items():
        ids = ctx.ledger.stale(state, older_than=now, limit=limit)
        views = ctx.leases.read([job_subject(job_id) for job_id in ids])
        for job_id in ids:
            view = views[job_subject(job_id)]
            if needs_redrive(view) and ctx.leases.mark_lapsed(
                job_subject(job_id), view.dead_tokens()
            ):
                redrives.append(Redrive(job_id, step, f"its worker's lease lapsed in {state}"))
    return redrives


def lapsed_clips(ctx: Context, limit: int = 1000) -> list[ClipNext]:
    """Clips whose cut or stitch lost its worker (lease lapsed): the step to send again."""
    if not ctx.heartbeat.enabled:
        return []
    watched = ctx.clips.watched(limit)
    views = ctx.leases.read([clip_subject(clip_id) for clip_id in watched])
    dead = [clip_id for clip_id in watched if needs_redrive(views[clip_subject(clip_id)])]
    redrives = []
    for clip in ctx.clips.get_many(dead):
        if clip.state not in LEASED_CLIP_STATES:
            continue
        step = step_for(clip, ctx.clips.stitch_claimed(clip.id))
        subject = clip_subject(clip.id)
        if step is not None and ctx.leases.mark_lapsed(subject, views[subject].dead_tokens()):
            redrives.append(ClipNext(step, clip.id))
    return redrives
