"""Submit one job: claim it, POST it once, record what the provider answered.

The step is a chain around one call: `pipeline.submission.claiming` decides whether and where
the job goes (routing, the hooks' say, the claim to SUBMITTING), the adapter POSTs, and
`pipeline.submission.answers` records the answer. The bookkeeping of the key's daily cap, its
circuit breaker, the limiter's slot, the batch budget and crun's callback are hooks around the
POST (`pipeline.submission.hooks`), not branches in it; failover between providers runs only
for a job whose route names several (`pipeline.routing.failover`).

The client request id is written with SUBMITTING *before* the POST and sent as the provider's
idempotency key. It changes only when a remote job was created and failed (a new paid try);
every other re-POST (a timeout, a dropped connection, a redelivered message) reuses it, so a
provider that honours idempotency keys never creates, nor charges, a second remote job.

A job the limiter parks (its key is full, or other batches go first) gets no message at all: the
step that frees a slot hands it on (`pipeline.routing.slots`), and the watch index holds a long
fallback in case that wake-up is lost. A parked job is pinned to its key first, so the slot it is
handed and the key it submits on are the same.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from jobs.liveness.lease import Holder
from jobs.liveness.store import job_subject
from jobs.models import Job
from jobs.states import JobState
from pipeline.context import Context
from pipeline.decisions import Decision, Done, Step, Then, with_handovers
from pipeline.routing.slots import hand_on
from pipeline.submission.answers import accepted, refused
from pipeline.submission.claiming import SUBMITTABLE, Attempt, claim
from providers.errors import FatalFailure, RetryableFailure


def submit_job(ctx: Context, job_id: str, now: datetime) -> Decision:
    """Run the submit step for ``job_id``; the returned decision says what comes next.

    While a job waits to be submitted it is on the ledger's watch list with the time by which a
    worker should act on it again, so a message lost with a killed worker is re-driven. Unless
    the job now holds its slot for polling, slots of its key left free go to parked jobs.
    """
    job = ctx.ledger.get(job_id)
    if job is not None and job.state in SUBMITTABLE:
        ctx.ledger.watch(job_id, now + ctx.call_grace())
    # Who held the job's lease before this step takes it: a SUBMITTING job whose holder is
    # alive is never raced, one whose holder died is re-sent at once (`jobs.liveness`).
    holder = Holder.NONE
    if job is not None and job.state is JobState.SUBMITTING and ctx.heartbeat.enabled:
        holder = ctx.leases.view(job_subject(job_id)).holder
    # The lease is held from before the claim to the POST's outcome.
    with ctx.heartbeat.hold(job_subject(job_id), ctx.submit_grace().total_seconds()):
        ready = claim(ctx, job, now, holder)
        if isinstance(ready, Attempt):
            try:
                remote = ready.adapter.submit(ready.request, ready.request_id)
            except (RetryableFailure, FatalFailure) as exc:
                answered = refused(ctx, ready.job, exc, now)
            else:
                answered = accepted(ctx, ready.job, remote, now)
            ready = with_handovers(answered, ready.handovers)
    decision = _rewatch(ctx, job_id, ready, now)
    if isinstance(decision, Then) and decision.step is Step.POLL:
        return decision
    return _pass_slots_on(ctx, job, job_id, decision)


def _pass_slots_on(ctx: Context, job: Job | None, job_id: str, decision: Decision) -> Decision:
    """``decision`` plus the parked jobs handed the slots the job's key has free now."""
    if job is None or job.key_id is None:
        # The key may have been chosen just now: read which (a job's key never changes once set).
        job = ctx.ledger.get(job_id)
        if job is None or job.key_id is None:
            return decision
    return hand_on(ctx, job.provider, job.key_id, decision)


def _rewatch(ctx: Context, job_id: str, decision: Decision, now: datetime) -> Decision:
    if isinstance(decision, Done) and decision.recheck_s is not None:
        ctx.ledger.watch(job_id, now + timedelta(seconds=decision.recheck_s))
    elif isinstance(decision, Then) and decision.step is Step.SUBMIT:
        ctx.ledger.watch(job_id, now + timedelta(seconds=decision.countdown_s) + ctx.call_grace())
    else:
        ctx.ledger.unwatch(job_id)
    return decision
