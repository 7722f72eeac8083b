"""A possible second charge confirmed or cleared by the provider's own word (OpenRouter, crun).

A re-send after a lost answer is flagged possibly paid twice (`pipeline.ambiguity`). OpenRouter
posts a finished job to the ``callback_url`` of the POST that created it, signed, with its
``usage.cost``; a re-send keeps the earlier try's URL valid (`pipeline.callbacks.register`), so
a webhook on that URL naming a video the job does not use, ended with its ``usage.cost``, is
OpenRouter saying the lost POST made a job and what it cost: above $0 the flag is confirmed, at
that bill; at $0 it is cleared (a delivery without a cost decides nothing). crun's callbacks are
unsigned, so one on an earlier try's URL only makes restyle ask crun with the job's key: a task
created with one of the job's URLs that succeeded confirms the flag, at our estimate (crun bills
in credits whose price is not documented). Without such a callback (OpenRouter retries for
hours, `DELIVERY_TTL_S`) the flag stays a possibility: no callback is no evidence. Runway
offers nothing of the kind (no webhooks, no task listing, no idempotency): its flags stay
possibilities.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jobs.budget import Charge
from jobs.models import Job
from jobs.states import JobState
from pipeline.billing import day_of
from pipeline.callbacks import Received, task_is_ours
from pipeline.context import Context
from providers.base import RemoteState
from providers.errors import ProviderFailure

CONFIRMED = "confirmed: paid twice"
CLEARED = "cleared: not paid twice"


def is_extra(job: Job, remote_id: str) -> bool:
    """True when an earlier try's callback naming ``remote_id`` reveals a job beside the one
    ``job`` uses (pure). A job waiting to re-send with no remote job adopts it instead."""
    if remote_id == job.remote_id or remote_id in job.extra_remote_ids:
        return False
    return not (job.state is JobState.RETRY_WAIT and job.remote_id is None)


def extra_note(job: Job, remote_id: str, billed_usd: float | None) -> str:
    """The history line of an extra remote job the provider named (pure)."""
    made = f"the provider names {remote_id}, made by an earlier POST whose answer was lost"
    if billed_usd == 0:
        return f"{CLEARED}: {made}, billed $0.00"
    if billed_usd is None:
        return f"{CONFIRMED}: {made}; no bill: ${job.estimated_cost_usd:.2f} estimated"
    return f"{CONFIRMED}, ${billed_usd:.2f}: {made}, billed ${billed_usd:.2f}"


def extra_changes(job: Job, remote_id: str, billed_usd: float | None) -> dict[str, Any]:
    """The job's fields once the provider named an extra remote job (and its bill, None when it
    gives none) (pure): the possibility becomes a confirmed charge (or is cleared at $0), the
    bill added to the job's."""
    changes: dict[str, Any] = {
        "extra_remote_ids": (*job.extra_remote_ids, remote_id),
        "possible_double_charges": max(job.possible_double_charges - 1, 0),
    }
    if billed_usd != 0:
        changes["double_charges_confirmed"] = job.double_charges_confirmed + 1
    if billed_usd is not None:
        changes["billed_cost_usd"] = round((job.billed_cost_usd or 0.0) + billed_usd, 6)
        changes["double_charge_billed_usd"] = round(job.double_charge_billed_usd + billed_usd, 6)
    return changes


def record_extra(
    ctx: Context, job: Job, remote_id: str, billed_usd: float | None, now: datetime
) -> Received:
    """Write the extra remote job on ``job`` and move the batch's spend to its bill."""
    flagged = job.possible_double_charges > 0
    moved = ctx.ledger.note(
        job,
        expect=job.state,
        now=now,
        detail=extra_note(job, remote_id, billed_usd),
        **extra_changes(job, remote_id, billed_usd),
    )
    if moved is None:
        return Received("ignored", "job moved")
    # A flagged re-send counted the lost POST at our estimate; the bill replaces it. An
    # unflagged one (a POST answered 5xx) counted nothing: the bill, or the estimate, is added.
    charge = Charge(str(job.provider), day_of(now))
    counted = job.estimated_cost_usd if flagged else 0.0
    if billed_usd is not None:
        ctx.budget.bill(job.batch, charge, counted, billed_usd)
    elif not flagged:
        ctx.budget.count(job.batch, charge, job.estimated_cost_usd)
    outcome = "cleared" if billed_usd == 0 else "confirmed"
    return Received(outcome, f"remote id {remote_id}")


def confirm_by_lookup(ctx: Context, job: Job, remote_id: str, now: datetime) -> Received:
    """crun: an unsigned callback on an earlier try's URL names ``remote_id``; crun, asked with
    the job's key, must say the task was made with one of the job's URLs and has succeeded."""
    refused = task_is_ours(ctx, job, remote_id)
    if refused is not None:
        return Received("refused", refused)
    assert job.key_id is not None
    try:
        status = ctx.adapter(job.provider, job.key_id).poll(remote_id)
    except ProviderFailure as exc:
        return Received("ignored", f"task {remote_id} could not be read: {exc.message}")
    if status.state is not RemoteState.SUCCEEDED:
        return Received("ignored", f"task {remote_id} is {status.state}: its charge is unknown")
    return record_extra(ctx, job, remote_id, status.billed_cost_usd, now)
