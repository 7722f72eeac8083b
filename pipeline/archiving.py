"""Archive one job: stream its output from the provider into S3 before the provider deletes it."""

from __future__ import annotations

from datetime import datetime, timedelta

from jobs.failures import FailureKind
from jobs.liveness.store import job_subject
from jobs.models import Job
from jobs.quality import QcNext
from jobs.replicas import after_the_fact
from jobs.states import JobState
from media.thumbnails import MAX_OUTPUT_BYTES
from pipeline.checking import act_on, check_stored
from pipeline.clips.fanin import after_segment_stored, before_segment_stored
from pipeline.context import Context, utcnow
from pipeline.decisions import Decision, Done, Step, Then
from pipeline.failing import fail_job
from pipeline.liveness import held_live
from pipeline.refreshing import refresh_or_expire
from storage.archive import copy_url_to_s3
from storage.containers import video_problem
from storage.errors import DeadlinePassed, SourceGone, StorageError, UnsafeOutput
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
    if job.state is JobState.ARCHIVING and held_live(ctx, job_subject(job.id)):
        # A re-driven or redelivered message while its worker copies: never race it; should
        # that worker die, its lease lapses and the reconciler sends the archive again.
        return Done("a live worker is archiving the job")
    bucket, key = output_location(ctx, job)
    with ctx.heartbeat.hold(job_subject(job.id), ctx.settings.archive_stall_s):
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
    return bucket, output_key(prefix, job.batch, job.output_name or job.item)


def output_cap(ctx: Context, job: Job) -> int:
    """The most bytes ``job``'s output may hold: a per-second allowance over its provider's
    longest window."""
    window_s = ctx.spec(job.provider).window.max_seconds
    return int(ctx.settings.output_max_bytes_per_s * max(window_s, 1.0))


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
            inspect=video_problem,
            max_bytes=output_cap(ctx, job),
        )
    except UnsafeOutput as exc:
        fail_job(ctx, job, utcnow(), FailureKind.UNSAFE_OUTPUT, exc.message)
        return Done("the output was refused")
    except (SourceGone, DeadlinePassed) as exc:
        return refresh_or_expire(ctx, job, utcnow(), str(exc))
    except StorageError as exc:
        if not exc.retryable:
            fail_job(ctx, job, utcnow(), FailureKind.STORAGE, exc.message)
            return Done("storage refused the copy")
        return _retry(ctx, job, exc)
    try:
        verdict = check_stored(ctx, job, stored)
    except StorageError as exc:
        return _retry(ctx, job, exc)
    step, decision = act_on(ctx, job, verdict, utcnow())
    if step is QcNext.STORE:
        return _stored(ctx, job, stored, verdict.describe())
    if step is QcNext.FLAG:
        return _stored(ctx, job, stored, f"flagged: {verdict.describe()}", verdict.failed)
    return decision


def _retry(ctx: Context, job: Job, exc: StorageError) -> Decision:
    tries = sum(1 for event in job.events if event.state is JobState.ARCHIVING)
    delay = ctx.timing.retry_delay(tries, exc.retry_after)
    return Then(Step.ARCHIVE, delay, f"copy failed, retrying: {exc}")


def _stored(
    ctx: Context, job: Job, stored: StoredObject, qc: str, flags: tuple[str, ...] = ()
) -> Decision:
    now = utcnow()
    before_segment_stored(ctx, job, now)
    moved = after_the_fact(
        lambda: ctx.ledger.move(
            job,
            JobState.STORED,
            expect={JobState.ARCHIVING},
            now=now,
            detail=f"{stored.uri} ({stored.size} bytes, sha256 {stored.sha256[:12]}); {qc}",
            output=stored,
            qc_flags=flags,
            durable=True,
        )
    )
    # Frames are CPU work: taken on the media queue, so archiving never waits for them.
    frames = moved is not None and ctx.settings.thumbnails and stored.size <= MAX_OUTPUT_BYTES
    if moved is None or moved.job.clip_id is None:
        return Done("stored", frames_due=frames)
    return Done("stored", clip_next=after_segment_stored(ctx, moved, now), frames_due=frames)
