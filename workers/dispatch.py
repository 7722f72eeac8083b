"""Publishing the first message of each job's chain (used by the CLI, batches and schedules)."""

from __future__ import annotations

from collections.abc import Sequence

from celery import Celery

from jobs.clips import Clip
from jobs.models import Job
from tasks.chain import submit_queue


def dispatch_jobs(app: Celery, jobs: Sequence[Job]) -> int:
    """Send one ``restyle.submit`` per job on one broker connection; return how many."""
    with app.producer_or_acquire() as producer:
        for job in jobs:
            app.send_task(
                "restyle.submit",
                args=[job.id],
                queue=submit_queue(job.priority),
                producer=producer,
            )
    return len(jobs)


def dispatch_clips(app: Celery, clips: Sequence[Clip]) -> int:
    """Send one ``restyle.cut`` per clip (routed to the ``media`` queue); return how many."""
    with app.producer_or_acquire() as producer:
        for clip in clips:
            app.send_task("restyle.cut", args=[clip.id], producer=producer)
    return len(clips)
