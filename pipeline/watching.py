"""Watching submit messages held by a worker, so a worker's death cannot strand a queued job.

A Redis-broker message a worker has received stays invisible to every other worker until the
visibility timeout (hours) if that worker dies. For polls and archives the job's state tells
the reconciler what is missing; a job still QUEUED tells nothing. So when a worker receives a
submit it puts the job on the ledger's watch list until the message's ETA plus a grace; the
submit step then re-watches or unwatches it, and the reconciler re-drives what is overdue.
"""

from __future__ import annotations

from datetime import datetime

from pipeline.context import Context


def watch_received_submit(
    ctx: Context, job_id: str, eta: datetime | None, now: datetime
) -> datetime:
    """Expect the submit of ``job_id`` to run by its ETA plus a grace; return that time."""
    due = max(eta or now, now) + ctx.call_grace()
    ctx.ledger.watch(job_id, due)
    return due
