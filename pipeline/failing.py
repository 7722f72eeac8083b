"""Ending a job badly, in one place: FAILED with a kind and the provider's message, or EXPIRED."""

from __future__ import annotations

import logging
from datetime import datetime

from jobs.failures import FailureKind
from jobs.models import Job
from jobs.states import ACTIVE_STATES, JobState
from pipeline.clips.fanin import fail_clip_of
from pipeline.context import Context

log = logging.getLogger(__name__)


def fail_job(ctx: Context, job: Job, now: datetime, kind: FailureKind, message: str) -> Job | None:
    """CAS ``job`` to FAILED from whatever active state it is in."""
    return _end(ctx, job, now, JobState.FAILED, kind, message)


def expire_job(ctx: Context, job: Job, now: datetime, reason: str) -> Job | None:
    """CAS ``job`` to EXPIRED: its output was gone, or would be, before it was stored."""
    return _end(ctx, job, now, JobState.EXPIRED, FailureKind.EXPIRED, reason)


def _end(
    ctx: Context, job: Job, now: datetime, state: JobState, kind: FailureKind, message: str
) -> Job | None:
    ended = ctx.ledger.transition(
        job,
        state,
        expect=ACTIVE_STATES,
        now=now,
        detail=f"{kind}: {message}",
        failure_kind=kind,
        failure_message=message,
    )
    if ended is not None:
        fail_clip_of(ctx, ended, now, f"{state} ({kind}): {message}")
        log.warning(
            "job %s %s (%s): %s",
            job.id,
            state,
            kind,
            message,
            extra={
                "job_id": job.id,
                "batch": job.batch,
                "provider": job.provider,
                "remote_id": job.remote_id,
                "state": state,
            },
        )
    return ended
