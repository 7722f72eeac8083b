"""Everything a submit decides before its POST: whether the job is to be sent at all, where
(`pipeline.routing.route`), the hooks' say (`pipeline.submission.hooks`), and the claim: a
compare-and-set to SUBMITTING with the attempt's idempotency key, written before the POST.

A job found in SUBMITTING (a redelivered message, or a worker that died mid-POST) is re-sent
with the same idempotency key once the grace for a POST in flight has passed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime

from jobs.limits.limiter import Handover
from jobs.liveness.lease import Holder, resume_wait_s
from jobs.models import Job
from jobs.request import EditRequest
from jobs.request_ids import first_request_id
from jobs.states import JobState
from pipeline.ambiguity import (
    PAID_ONCE,
    POSSIBLY_PAID_TWICE,
    callback_wait_s,
    resend_after_lost_answer,
)
from pipeline.callbacks import has_callback
from pipeline.context import Context
from pipeline.decisions import Decision, Done, Step, Then, with_handovers
from pipeline.resigning import request_to_send
from pipeline.routing import failover
from pipeline.routing.route import route, sooner
from pipeline.submission import hooks
from providers.adapter import ProviderAdapter

log = logging.getLogger(__name__)

SUBMITTABLE = frozenset({JobState.QUEUED, JobState.RETRY_WAIT})


@dataclass(frozen=True)
class Attempt:
    """A job claimed in SUBMITTING, with its key and request id, and what its POST needs.

    ``handovers``: parked jobs routing handed the slots of a key the job left.
    """

    job: Job
    adapter: ProviderAdapter
    request: EditRequest
    handovers: tuple[Handover, ...] = ()

    @property
    def request_id(self) -> str:
        """The idempotency key the POST carries."""
        assert self.job.client_request_id is not None
        return self.job.client_request_id


def claim(
    ctx: Context, job: Job | None, now: datetime, holder: Holder = Holder.NONE
) -> Attempt | Decision:
    """The attempt to POST now, or the decision the step returns instead; ``holder`` is who
    held the job's lease when the step began (`jobs.liveness`)."""
    if job is None or job.state.terminal:
        if job is not None and job.key_id is not None:
            # A parked job cancelled meanwhile may just have been handed a slot.
            ctx.limiter.release(job.provider, job.key_id, job.id)
        return Done("job is gone or finished")
    if job.state is JobState.SUBMITTING:
        return _resume_submitting(ctx, job, now, holder)
    if job.state not in SUBMITTABLE:
        return Done(f"job is already {job.state}")
    if job.awaits_anchor:
        # Sent once its clip's first segment is stored and has given its reference frame.
        return Done("waiting for the clip's anchor frame")
    return _start_attempt(ctx, job, now)


def _start_attempt(ctx: Context, job: Job, now: datetime) -> Attempt | Decision:
    wait = _callback_wait(ctx, job, now)
    if wait is not None:
        return Then(Step.SUBMIT, wait, "waiting for the callback of a POST whose answer was lost")
    routed = route(ctx, job, now)
    if routed.job is None:
        return routed.then
    ready = _attempt(ctx, routed.job, now)
    if isinstance(ready, Attempt):
        return replace(ready, handovers=routed.handovers)
    if isinstance(ready, Done) and ready.recheck_s is not None and len(routed.job.route) > 1:
        # Parked on one key while it may go to several providers: wait for any instead.
        pooled = failover.park_or_pool(ctx, routed.job, ready.reason, now)
        ready = replace(ready, reason=pooled or ready.reason)
    return with_handovers(sooner(ready, routed), routed.handovers)


def _pin_key(ctx: Context, job: Job, now: datetime) -> Job | None:
    """``job`` with an API key of its provider's pool chosen and recorded (None: it moved)."""
    if job.key_id is not None:
        return job
    pool = ctx.key_ids(job.provider)
    limits = {key: ctx.limits(job.provider, key) for key in pool}
    key = ctx.limiter.pick_key(job.provider, pool, limits)
    return ctx.ledger.update(job, expect=job.state, now=now, key_id=key)


def _attempt(ctx: Context, job: Job, now: datetime) -> Attempt | Decision:
    pinned = _pin_key(ctx, job, now)
    if pinned is None:
        return Done("job moved while choosing its key")
    job, key = pinned, pinned.key_id
    assert key is not None
    vetoed = hooks.before_submit(ctx, job, key, now, resend=False)
    if vetoed is not None:
        return vetoed
    attempt = job.attempt + 1
    detail, flagged = f"attempt {attempt} on key {key}", dict[str, object]()
    if job.answer_lost:
        honours = ctx.spec(job.provider).honours_idempotency
        flagged, note = resend_after_lost_answer(job, honours)
        detail = f"{detail}; {note}"
    claimed = ctx.ledger.transition(
        job,
        JobState.SUBMITTING,
        expect=SUBMITTABLE,
        expect_attempt=job.attempt,
        now=now,
        detail=detail,
        attempt=attempt,
        key_id=key,
        client_request_id=job.client_request_id or first_request_id(job.id),
        **flagged,
        durable=True,
    )
    if claimed is None:
        hooks.give_back(ctx, job, key, resend=False)
        return Done("another message claimed the job")
    return _ready(ctx, claimed)


def _resume_submitting(ctx: Context, job: Job, now: datetime, holder: Holder) -> Attempt | Decision:
    """A job found in SUBMITTING: a redelivered message, or a worker that died mid-POST.

    The worker that claimed it holds its lease while the POST runs: a live one is never raced;
    one whose lease lapsed (killed) is re-sent at once; with no lease at all (leases off, or a
    worker from before them) the submit grace decides, as it always did.
    """
    waited = now - job.updated_at
    wait = resume_wait_s(
        holder,
        waited.total_seconds(),
        ctx.submit_grace().total_seconds(),
        ctx.settings.liveness_lease_s,
    )
    if wait is not None:
        return Then(Step.SUBMIT, wait, "a POST may still be in flight")
    assert job.key_id is not None
    vetoed = hooks.before_submit(ctx, job, job.key_id, now, resend=True)
    if vetoed is not None:
        return vetoed
    honours = ctx.spec(job.provider).honours_idempotency
    why = "its worker's lease lapsed" if holder is Holder.LAPSED else "its submit grace passed"
    detail = (
        f"reconciled after {waited.total_seconds():.0f}s in SUBMITTING ({why}), no remote id: "
        f"the provider offers no lookup, so re-sending with the same idempotency key "
        f"{job.client_request_id}; {POSSIBLY_PAID_TWICE}: the previous POST may have been sent"
    )
    if honours:
        detail = (
            f"reconciled after {waited.total_seconds():.0f}s in SUBMITTING ({why}): re-sending "
            "with the "
            f"same Idempotency-Key {job.client_request_id}, which the provider honours "
            f"({PAID_ONCE})"
        )
    claimed = ctx.ledger.transition(
        job,
        JobState.SUBMITTING,
        expect={JobState.SUBMITTING},
        expect_attempt=job.attempt,
        now=now,
        detail=detail,
        attempt=job.attempt + 1,
        answer_lost=False,
        possible_double_charges=job.possible_double_charges + (0 if honours else 1),
        durable=True,
        remote_possible=True,  # the POST of the worker that died may have been accepted
    )
    if claimed is None:
        hooks.give_back(ctx, job, job.key_id, resend=True)
        return Done("another message reconciled the job")
    log.warning("resubmitting job %s: %s", job.id, detail, extra={"job_id": job.id})
    return _ready(ctx, claimed)


def _ready(ctx: Context, job: Job) -> Attempt:
    return Attempt(job, hooks.adapter_for(ctx, job), request_to_send(ctx, job.source, job.request))


def _callback_wait(ctx: Context, job: Job, now: datetime) -> float | None:
    """The wait before re-sending a job whose lost POST a callback could still announce."""
    if not job.answer_lost or job.key_id is None:
        return None
    # The lost request carried a callback URL naming the job when one was registered for it.
    announces = has_callback(ctx.redis, job)
    return callback_wait_s(job, now, ctx.settings.crun_callback_grace_s, announces)
