"""An output URL that expired before its copy: ask the provider for a fresh one first.

Runway signs its output URLs for 24-48 h and hands out fresh ones on every fetch of the task,
so an expired URL is not an expired output there: the archive re-fetches the task and copies
again. A provider whose URLs cannot be renewed (``ProviderSpec.refreshes_output_urls`` false)
ends the job EXPIRED, saying so. ``MAX_URL_REFRESHES`` bounds a provider that keeps handing
out URLs that do not work.
"""

from __future__ import annotations

from datetime import datetime

from jobs.models import Job
from pipeline.context import Context
from pipeline.decisions import Decision, Done, Step, Then
from pipeline.failing import expire_job
from providers.base import RemoteState
from providers.errors import FatalFailure, RetryableFailure

MAX_URL_REFRESHES = 3


def refresh_or_expire(ctx: Context, job: Job, now: datetime, why: str) -> Decision:
    """Re-fetch ``job``'s task for a fresh output URL and copy again; EXPIRED when it cannot."""
    if not ctx.spec(job.provider).refreshes_output_urls:
        return _expire(ctx, job, now, f"{why}; {job.provider} cannot hand out a fresh URL")
    if job.url_refreshes >= MAX_URL_REFRESHES:
        return _expire(ctx, job, now, f"{why}, after {job.url_refreshes} fresh URLs")
    assert job.key_id is not None and job.remote_id is not None, "a finished job has both"
    grant = ctx.limiter.acquire_request(
        job.provider, job.key_id, ctx.limits(job.provider, job.key_id)
    )
    if not grant.allowed:
        return Then(Step.ARCHIVE, grant.retry_after_s, f"limiter: {grant.reason}")
    counted = ctx.ledger.update(job, expect=job.state, now=now, url_refreshes=job.url_refreshes + 1)
    if counted is None:
        return Done("job moved")
    try:
        status = ctx.adapter(job.provider, job.key_id).poll(job.remote_id)
    except RetryableFailure as exc:
        return Then(
            Step.ARCHIVE,
            ctx.timing.retry_delay(counted.url_refreshes, exc.retry_after),
            exc.message,
        )
    except FatalFailure as exc:
        return _expire(ctx, counted, now, f"{why}; re-fetching the task failed: {exc.message}")
    if status.state is not RemoteState.SUCCEEDED or not status.output_urls:
        return _expire(ctx, counted, now, f"{why}; the task no longer offers its output")
    fresh = ctx.ledger.update(
        counted,
        expect=counted.state,
        now=now,
        output_urls=status.output_urls,
        expires_at=status.expires_at,
    )
    return Then(Step.ARCHIVE, 0, f"{why}; fresh output URL") if fresh else Done("job moved")


def _expire(ctx: Context, job: Job, now: datetime, reason: str) -> Decision:
    expire_job(ctx, job, now, reason)
    return Done("expired")
