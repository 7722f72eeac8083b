"""Planning and enqueueing a batch against the configured Redis: shared by the CLI and beat."""

from __future__ import annotations

from datetime import datetime

from redis import Redis

from config.settings import Settings
from jobs.batches import BatchStore
from jobs.budget import Budget
from jobs.ledger import Ledger
from jobs.models import Priority
from producer.batch import (
    BatchPlan,
    Dispatch,
    DispatchClips,
    EnqueueResult,
    enqueue_batch,
    plan_batch,
)
from producer.options import SubmitOptions
from producer.schedules import Schedule, batch_name_for, previous_run
from producer.timelines.store import store_timeline, timeline_uri
from storage.s3 import ensure_bucket, s3_client


def plan_source(
    source: str, options: SubmitOptions, settings: Settings, now: datetime
) -> BatchPlan:
    """`plan_batch` with the configured S3 (its bucket created first when settings ask)."""
    s3 = s3_client(settings)
    if settings.s3_create_bucket:
        ensure_bucket(s3, settings.s3_bucket)
    return plan_batch(source, options, settings, now, s3=s3)


def enqueue_plan(
    plan: BatchPlan,
    settings: Settings,
    client: Redis[bytes],
    dispatch: Dispatch,
    now: datetime,
    dispatch_clips: DispatchClips | None = None,
) -> EnqueueResult:
    """Write ``plan`` into the ledger and dispatch its new jobs and clips (`enqueue_batch`).

    A timeline SOURCE is kept beside the outputs first, so nothing is queued that
    `restyle timeline` could not hand back.
    """
    if plan.timeline is not None:
        uri = timeline_uri(plan.output_prefix, plan.batch)
        store_timeline(s3_client(settings), uri, plan.timeline)
    ledger = Ledger.from_settings(settings, client)
    return enqueue_batch(
        plan, ledger, BatchStore(client), dispatch, now, Budget(client), dispatch_clips
    )


def schedule_options(schedule: Schedule, fired_at: datetime) -> SubmitOptions:
    """The submit options of one firing: its batch is ``<name>-<local date>`` of the firing."""
    return SubmitOptions(
        prompt=schedule.prompt,
        provider=schedule.provider,
        aspect_ratio=schedule.options.aspect_ratio,
        seed=schedule.options.seed,
        reference_image=schedule.options.reference_image,
        batch=batch_name_for(schedule, fired_at),
        budget_usd=schedule.budget_usd,
        priority=Priority(schedule.options.priority),
        output=schedule.output,
        skip_invalid=True,
    )


def fire_schedule(
    schedule: Schedule,
    settings: Settings,
    client: Redis[bytes],
    dispatch: Dispatch,
    now: datetime,
    dispatch_clips: DispatchClips | None = None,
) -> EnqueueResult:
    """Create the batch of the firing due at or before ``now``; a repeated firing adds nothing.

    A nightly run skips rows that fail preflight (and reports them) rather than dropping the
    whole night's work for one bad clip.
    """
    options = schedule_options(schedule, previous_run(schedule, now))
    plan = plan_source(schedule.source, options, settings, now)
    return enqueue_plan(plan, settings, client, dispatch, now, dispatch_clips)
