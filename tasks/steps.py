"""The three steps of a job's chain as Celery tasks: decode a job id, call the pipeline."""

from __future__ import annotations

from typing import Any

import redis
from celery import shared_task

from jobs.delays import STEP_RETRY
from jobs.ledger import LedgerContention
from jobs.replicas import NotReplicated
from pipeline.archiving import archive_job
from pipeline.context import utcnow
from pipeline.decisions import Step
from pipeline.polling import poll_job
from pipeline.submitting import submit_job
from tasks.handing import submit_handed
from tasks.messages import follow
from tasks.runtime import context

OUTAGE_RETRY: dict[str, Any] = {
    # Redis calls already retry over a failover (config.redis); past that bound, or with a
    # costly write not yet on a replica, the step runs again later rather than failing, as
    # `jobs.delays.StepRetry` says.
    "autoretry_for": (NotReplicated, LedgerContention, redis.ConnectionError, redis.TimeoutError),
    "retry_backoff": STEP_RETRY.backoff_s,
    "retry_backoff_max": STEP_RETRY.backoff_max_s,
    "retry_jitter": STEP_RETRY.jitter,
}


@shared_task(name="restyle.submit", bind=True, max_retries=None, **OUTAGE_RETRY)
def submit(self: Any, job_id: str) -> str:
    """Submit the job to its provider (or wait for a limiter slot)."""
    return follow(self, submit_job(context(), job_id, utcnow()), job_id, Step.SUBMIT)


@shared_task(name="restyle.poll", bind=True, max_retries=None, **OUTAGE_RETRY)
def poll(self: Any, job_id: str) -> str:
    """Ask the provider once how the remote job is doing; a job handed the slot it freed is
    submitted here and now (`tasks.handing`)."""
    decision = poll_job(context(), job_id, utcnow())
    return follow(self, decision, job_id, Step.POLL, submit_now=submit_handed)


@shared_task(name="restyle.archive", bind=True, max_retries=None, **OUTAGE_RETRY)
def archive(self: Any, job_id: str) -> str:
    """Copy the finished video into S3."""
    return follow(self, archive_job(context(), job_id, utcnow()), job_id, Step.ARCHIVE)
