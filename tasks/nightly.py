"""The task beat sends when a nightly schedule fires."""

from __future__ import annotations

import logging

from celery import current_app, shared_task

from pipeline.context import utcnow
from producer.schedules import load_schedule
from tasks.messages import dispatch_clips, dispatch_jobs
from tasks.runtime import context
from tasks.schedule_entries import arm_schedule

log = logging.getLogger(__name__)


@shared_task(name="restyle.fire_schedule")
def fire_schedule(schedule: str) -> str:
    """Create today's batch of ``schedule`` (idempotent by batch name) and arm the next firing."""
    # Imported here: the producer brings PyAV, which submit and poll workers never need.
    from producer.run import fire_schedule as create_scheduled_batch

    ctx, now = context(), utcnow()
    found = load_schedule(ctx.settings.schedules_file, schedule)
    result = create_scheduled_batch(
        found,
        ctx.settings,
        ctx.redis,
        lambda jobs: dispatch_jobs(current_app, jobs),
        now,
        lambda clips: dispatch_clips(current_app, clips),
    )
    arm_schedule(current_app, found, now)
    log.info("schedule %s: batch %s, %d new jobs, %d already there, %d rows skipped",
             schedule, result.batch, result.created, result.existing,
             result.skipped_count, extra={"batch": result.batch})  # fmt: skip
    return result.batch
