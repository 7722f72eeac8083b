"""Archive one job: stream its output from the provider into S3 before the provider deletes it."""

from __future__ import annotations

from datetime import datetime, timedelta

from jobs.failures import FailureKind
from jobs.models import Job
from jobs.replicas import after_the_fact
from jobs.states import JobState
from media.thumbnails import MAX_OUTPUT_BYTES
from pipeline.clips.fanin import after_segment_stored, before_segment_stored
from pipeline.context import Context, utcnow
from pipeline.decisions import Decision, Done, Step, Then
from pipeline.failing import fail_job
from pipeline.refreshing import refresh_or_expire
from storage.archive import copy_url_to_s3
from storage.errors import DeadlinePassed, SourceGone, StorageError
from storage.object_keys import output_key, parse_s3_uri, segment_output_key
from storage.objects import StoredObject

ARCHIVABLE = frozenset({JobState.SUCCEEDED, JobState.ARCHIVING})
UNKNOWN_RETENTION = timedelta(hours=24)


def archive_job(ctx: Context, job_id: str, now: datetime) -> Decision:
    """Run the archive step for ``job_id``."""
    job = ctx.ledger.get(job_id)
    if job is None or job.state not in ARCHIVABLE:
        return Done("job is not waiting to be archived")
    deadline = _deadline(job)
    if now >= deadline:
        why = "the output URL expired before the copy started"
        return refresh_or_expire(ctx, job, now, why)
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
    """The deterministic S3 bucket and key of ``job``'s output (a segment's under its clip's)."""
    bucket, prefix = ctx.settings.s3_bucket, ctx.settings.s3_prefix
    if job.output_prefix:
        bucket, prefix = parse_s3_uri(job.output_prefix)
    if job.segment is not None:
        return bucket, segment_output_key(prefix, job.batch, job.item, job.segment)
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
        return refresh_or_expire(ctx, job, utcnow(), str(exc))
    except StorageError as exc:
        if not exc.retryable:
            fail_job(ctx, job, utcnow(), FailureKind.STORAGE, exc.message)
            return Done("storage refused the copy")
        return _retry(ctx, job, exc)
    return _stored(ctx, job, stored)


def _retry(ctx: Context, job: Job, exc: StorageError) -> Decision:
    tries = sum(1 for event in job.events if event.state is JobState.ARCHIVING)
    delay = ctx.timing.retry_delay(tries, exc.retry_after)
    return Then(Step.ARCHIVE, delay, f"copy failed, retrying: {exc}")


def _stored(ctx: Context, job: Job, stored: StoredObject) -> Decision:
    now = utcnow()
    before_segment_stored(ctx, job, now)
    moved = after_the_fact(
        lambda: ctx.ledger.move(
            job,
            JobState.STORED,
            expect={JobState.ARCHIVING},
            now=now,
            detail=f"{stored.uri} ({stored.size} bytes, sha256 {stored.sha256[:12]})",
            output=stored,
            durable=True,
        )
    )
    # Frames are CPU work: taken on the media queue, so archiving never waits for them.
    frames = moved is not None and ctx.settings.thumbnails and stored.size <= MAX_OUTPUT_BYTES
    if moved is None or moved.job.clip_id is None:
        return Done("stored", frames_due=frames)
    return Done("stored", clip_next=after_segment_stored(ctx, moved, now), frames_due=frames)
