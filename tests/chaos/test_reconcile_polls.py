"""The reconciler re-drives a silent SUBMITTED job only when its poll would really run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import redis

from config.settings import ProviderName, Settings
from jobs.models import Job, job_id_for
from jobs.request import EditRequest
from jobs.states import JobState
from pipeline.context import Context
from pipeline.decisions import Step
from pipeline.reconciling import find_stranded

NOW = datetime(2025, 1, 10, 12, tzinfo=UTC)


def submitted(item: str, last_poll_ago_s: float, next_poll_in_s: float | None) -> Job:
    changed = NOW - timedelta(seconds=last_poll_ago_s)
    return Job(
        id=job_id_for("reconcile", item),
        batch="reconcile",
        item=item,
        provider=ProviderName.RUNWAY,
        request=EditRequest(video_url="https://example.com/a.mp4", prompt="winter"),
        state=JobState.SUBMITTED,
        key_id="k",
        remote_id=f"remote-{item}",
        last_poll_at=changed,
        next_poll_at=None if next_poll_in_s is None else NOW + timedelta(seconds=next_poll_in_s),
        created_at=changed,
        updated_at=changed,
    )


def test_only_silent_jobs_whose_poll_would_run_are_re_driven(
    settings: Settings, redis_client: redis.Redis
) -> None:
    ctx = Context.from_settings(settings)
    lost = submitted("lost", last_poll_ago_s=400, next_poll_in_s=-100)
    backing_off = submitted("backing-off", last_poll_ago_s=400, next_poll_in_s=600)
    unplanned = submitted("unplanned", last_poll_ago_s=400, next_poll_in_s=None)
    recent = submitted("recent", last_poll_ago_s=5, next_poll_in_s=-1)
    ctx.ledger.add([lost, backing_off, unplanned, recent])

    redrives = {r.job_id: r.step for r in find_stranded(ctx, NOW)}

    assert redrives == {lost.id: Step.POLL, unplanned.id: Step.POLL}


def test_a_backing_off_poll_is_re_driven_once_half_its_delay_has_passed(
    settings: Settings, redis_client: redis.Redis
) -> None:
    ctx = Context.from_settings(settings)
    job = submitted("half-way", last_poll_ago_s=400, next_poll_in_s=500)
    ctx.ledger.add([job])

    assert find_stranded(ctx, NOW) == []
    later = find_stranded(ctx, NOW + timedelta(seconds=51))
    assert [(r.job_id, r.step) for r in later] == [(job.id, Step.POLL)]


def test_a_job_both_overdue_and_stale_in_submitting_is_re_driven_once_per_pass(
    settings: Settings, redis_client: redis.Redis
) -> None:
    ctx = Context.from_settings(settings)
    long_ago = NOW - timedelta(hours=1)
    job = submitted("both", last_poll_ago_s=3600, next_poll_in_s=None).model_copy(
        update={"state": JobState.SUBMITTING, "remote_id": None, "attempt": 1}
    )
    ctx.ledger.add([job])
    ctx.ledger.watch(job.id, long_ago)

    redrives = find_stranded(ctx, NOW)

    assert [(r.job_id, r.step) for r in redrives] == [(job.id, Step.SUBMIT)]
