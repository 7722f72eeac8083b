"""Archive one job: stream its output from the provider into S3 before the provider deletes it."""

from __future__ import annotations

from datetime import datetime, timedelta

from jobs.models import ArchivedOutput, Job
from jobs.replicas import after_the_fact
from jobs.states import JobState
from jobs.timing import retry_delay
from pipeline.context import Context, utcnow
from pipeline.decisions import Decision, Done, Step, Then
from pipeline.failing import expire_job, fail_job
from providers.errors import FailureKind
from storage.archive import copy_url_to_s3
from storage.errors import DeadlinePassed, SourceGone, StorageError
from storage.keys import output_key, parse_s3_uri

ARCHIVABLE = frozenset({JobState.SUCCEEDED, JobState.ARCHIVING})
UNKNOWN_RETENTION = timedelta(hours=24)


def archive_job(ctx: Context, job_id: str, now: datetime) -> Decision:
    """Run the archive step for ``job_id``."""
    job = ctx.ledger.get(job_id)
    if job is None or job.state not in ARCHIVABLE:
        return Done("job is not waiting to be archived")
    deadline = _deadline(job)
    if now >= deadline:
        expire_job(ctx, job, now, "the provider's retention passed before the copy started")
        return Done("expired")
    bucket, key = output_location(ctx, job)
    claimed = ctx.ledger.transition(
        job,
        JobState.ARCHIVING,
        expect=ARCHIVABLE,
        now=now,
        detail=f"copying to s3://{bucket}/{key}",
    )
    if claimed is None:
        return Done("another message claimed the job")
    return _copy(ctx, claimed, bucket, key, deadline)


def output_location(ctx: Context, job: Job) -> tuple[str, str]:
    """The deterministic S3 bucket and key of ``job``'s output."""
    bucket, prefix = ctx.settings.s3_bucket, ctx.settings.s3_prefix
    if job.output_prefix:
        bucket, prefix = parse_s3_uri(job.output_prefix)
    return bucket, output_key(prefix, job.batch, job.item)


def _deadline(job: Job) -> datetime:
    if job.expires_at is not None:
        return job.expires_at
    return (job.remote_completed_at or job.updated_at) + UNKNOWN_RETENTION


def _copy(ctx: Context, job: Job, bucket: str, key: str, deadline: datetime) -> Decision:
    metadata = {
        "job-id": job.id,
        "batch": job.batch,
        "item": job.item,
        "provider": job.provider.value,
        "remote-id": job.remote_id or "",
    }
    try:
        # Inside the try: an S3 outage while preparing the bucket is retried like a failed copy.
        ctx.ready_bucket(bucket)
        stored = copy_url_to_s3(
            ctx.http,
            job.output_urls[0],
            s3=ctx.s3,
            bucket=bucket,
            key=key,
            metadata=metadata,
            part_bytes=ctx.settings.archive_part_bytes,
            deadline=deadline,
            now=utcnow,
        )
    except (SourceGone, DeadlinePassed) as exc:
        expire_job(ctx, job, utcnow(), str(exc))
        return Done("expired while copying")
    except StorageError as exc:
        if not exc.retryable:
            fail_job(ctx, job, utcnow(), FailureKind.STORAGE, exc.message)
            return Done("storage refused the copy")
        return _retry(job, exc)
    return _stored(ctx, job, stored)


def _retry(job: Job, exc: StorageError) -> Decision:
    tries = sum(1 for event in job.events if event.state is JobState.ARCHIVING)
    delay = retry_delay(tries, exc.retry_after)
    return Then(Step.ARCHIVE, delay, f"copy failed, retrying: {exc}")


def _stored(ctx: Context, job: Job, stored: ArchivedOutput) -> Decision:
    now = utcnow()
    after_the_fact(
        lambda: ctx.ledger.transition(
            job,
            JobState.STORED,
            expect={JobState.ARCHIVING},
            now=now,
            detail=f"{stored.uri} ({stored.size} bytes, sha256 {stored.sha256[:12]})",
            output=stored,
            durable=True,
        )
    )
    return Done("stored")
