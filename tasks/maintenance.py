"""Housekeeping: re-driving stranded jobs, handing freed slots on, re-reading the schedule."""

from __future__ import annotations

import logging

from celery import current_app, shared_task

from pipeline.clips.reconciling import stranded_clips
from pipeline.context import Context, utcnow
from pipeline.decisions import Step
from pipeline.liveness import lapsed_clips, lapsed_jobs
from pipeline.reconciling import Redrive, find_stranded
from pipeline.routing.slots import sweep
from tasks.messages import send_clip_step, send_handovers, send_step, submit_queue
from tasks.runtime import context
from tasks.schedule_entries import sync_from_file

log = logging.getLogger(__name__)


@shared_task(name="restyle.reconcile")
def reconcile() -> int:
    """Re-drive every job whose state has not moved for too long; return how many."""
    ctx, now = context(), utcnow()
    redrives = find_stranded(ctx, now)
    for redrive in redrives:
        log.info(
            "re-driving job %s with %s: %s",
            redrive.job_id,
            redrive.step,
            redrive.reason,
            extra={"job_id": redrive.job_id},
        )
        send_step(redrive.step, redrive.job_id, queue=_queue(ctx, redrive))
    for clip_step in stranded_clips(ctx, now):
        log.info("re-driving clip %s with %s", clip_step.clip_id, clip_step.step)
        send_clip_step(clip_step)
    # Slots freed by leases that expired with their worker go to parked jobs.
    send_handovers(sweep(ctx))
    # Edits of the schedule file take effect without restarting beat.
    sync_from_file(current_app, ctx.settings, now)
    return len(redrives)


@shared_task(name="restyle.reclaim")
def reclaim() -> int:
    """Re-drive at once the jobs and clips whose worker died holding them (its lease lapsed);
    return how many. Sent by beat every ``liveness_sweep_s``."""
    ctx = context()
    redrives = lapsed_jobs(ctx, utcnow())
    for redrive in redrives:
        log.warning(
            "re-driving job %s with %s: %s",
            redrive.job_id,
            redrive.step,
            redrive.reason,
            extra={"job_id": redrive.job_id},
        )
        send_step(redrive.step, redrive.job_id, queue=_queue(ctx, redrive))
    clip_steps = lapsed_clips(ctx)
    for clip_step in clip_steps:
        log.warning("re-driving clip %s with %s: its worker's lease lapsed", clip_step.clip_id,
                    clip_step.step)  # fmt: skip
        send_clip_step(clip_step)
    return len(redrives) + len(clip_steps)


def _queue(ctx: Context, redrive: Redrive) -> str | None:
    """A re-driven submit goes back to its job's priority queue."""
    job = ctx.ledger.get(redrive.job_id) if redrive.step is Step.SUBMIT else None
    return submit_queue(job.priority) if job is not None else None
