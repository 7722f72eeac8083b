"""The provider's own figures for what a job cost: recorded on the job, settled in the budget.

A job's estimate (the catalogue's price of the whole job) is reserved before its POST and
counted as spent when the provider accepts it. Where the provider says more, its figures win:
Runway answers a create with ``estimatedCost`` (the most the task may charge, kept on the job
as `Job.provider_estimate_usd`), and the batch counts that maximum from the moment of the
answer, in the same step that takes the reservation back (`Budget.accept`), so the next submit
of the batch sees it; a finished task carries ``cost`` (the bill; 0 credits when it was
refunded). The bill is written on the job once per remote job (`Job.billed_remote_id`), in its
history, and the batch's spent money moves from what was counted (`Job.counted_usd`) to the bill
(down to nothing for a refund), so status, reports, /metrics and `restyle spend` show what was
really billed.
"""

from __future__ import annotations

from datetime import datetime

from jobs.budget import Charge
from jobs.models import Job
from jobs.states import JobState
from pipeline.context import Context
from providers.base import RemoteStatus


def day_of(now: datetime) -> str:
    """The UTC day spend is counted under."""
    return now.strftime("%Y-%m-%d")


def accepted_spend(
    ctx: Context, job: Job, now: datetime, replayed: bool = False, maximum: float | None = None
) -> None:
    """Turn the reservation of a POST the provider accepted (or may have: its answer was lost)
    into money spent, counted by provider and day: ``maximum`` where the provider said the most
    the job may charge, else the estimate.

    ``replayed``: the provider answered with the job the same Idempotency-Key created before,
    whose money was counted when that POST's answer was lost: the reservation goes back.
    """
    if replayed:
        ctx.budget.release(job.batch, job.estimated_cost_usd)
        return
    charge = Charge(str(job.provider), day_of(now))
    ctx.budget.accept(job.batch, charge, job.estimated_cost_usd, maximum)


def bill_note(job: Job, billed_usd: float) -> str:
    """The history line of ``job``'s bill (pure)."""
    counted = f"${job.estimated_cost_usd:.2f} was estimated"
    if job.provider_estimate_usd is not None:
        counted += f", ${job.provider_estimate_usd:.2f} the provider's maximum"
    if billed_usd == 0:
        return f"billed $0.00 (refunded; {counted})"
    return f"billed ${billed_usd:.2f} by the provider ({counted})"


def settle_bill(ctx: Context, job: Job, status: RemoteStatus, now: datetime) -> Job | None:
    """Record the bill a finished remote job carries, once; the job as it is now (None: it
    moved meanwhile). A status without a bill leaves everything as it was."""
    billed = status.billed_cost_usd
    if billed is None or job.remote_id is None or job.billed_remote_id == job.remote_id:
        return job
    moved = ctx.ledger.transition(
        job,
        JobState.SUBMITTED,
        expect={JobState.SUBMITTED},
        now=now,
        detail=bill_note(job, billed),
        billed_cost_usd=round((job.billed_cost_usd or 0.0) + billed, 6),
        billed_remote_id=job.remote_id,
    )
    if moved is None:
        return None
    charge = Charge(str(job.provider), day_of(now), ceiling=job.provider_estimate_usd is not None)
    ctx.budget.bill(job.batch, charge, job.counted_usd, billed)
    return moved
