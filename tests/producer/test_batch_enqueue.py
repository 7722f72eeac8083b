"""Enqueueing a planned batch into the real Redis ledger: idempotent, all or nothing, in budget."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis

from config.settings import ProviderName, Settings
from jobs.batches import BatchStore
from jobs.budget import Budget
from jobs.ledger import Ledger
from jobs.models import Job
from jobs.states import JobState
from producer.batch import (
    BatchPlan,
    BudgetExceeded,
    EnqueueResult,
    InvalidOption,
    PreflightFailed,
    SubmitOptions,
    enqueue_batch,
    plan_batch,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
OPTIONS = SubmitOptions(prompt="make it winter", provider=ProviderName.RUNWAY, batch="lib")


class Dispatched:
    """Records what enqueue_batch hands to the dispatcher (the lead's Celery sender)."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, jobs: Sequence[Job]) -> None:
        self.calls.append([job.id for job in jobs])


def enqueue(plan: BatchPlan, client: redis.Redis, dispatch: Dispatched) -> EnqueueResult:
    budget = Budget(client)
    return enqueue_batch(plan, Ledger(client), BatchStore(client), dispatch, NOW, budget)


@pytest.fixture
def manifest(tmp_path: Path, library: str) -> Path:
    path = tmp_path / "lib.jsonl"
    path.write_text(
        f'{{"source": "{library}alpha.mp4", "key": "alpha"}}\n'
        f'{{"source": "{library}beta.mp4", "key": "beta", "prompt": "make it noir"}}\n'
        f'{{"source": "{library}nested/gamma.mov", "key": "gamma"}}\n'
    )
    return path


def plan(manifest: Path, settings: Settings, s3: S3Client, **changes: object) -> BatchPlan:
    options = replace(OPTIONS, **changes)  # type: ignore[arg-type]
    return plan_batch(str(manifest), options, settings, NOW, s3=s3)


def test_submitting_the_same_manifest_twice_creates_no_duplicate_jobs(
    manifest: Path, producer_settings: Settings, s3: S3Client, redis_client: redis.Redis
) -> None:
    dispatch = Dispatched()
    first = enqueue(plan(manifest, producer_settings, s3), redis_client, dispatch)
    assert (first.created, first.existing) == (3, 0)

    again = enqueue(plan(manifest, producer_settings, s3), redis_client, dispatch)
    assert (again.created, again.existing) == (0, 3)

    ledger = Ledger(redis_client)
    jobs = ledger.get_many(ledger.batch_ids("lib"))
    assert sorted(job.item for job in jobs) == ["alpha", "beta", "gamma"]
    assert ledger.batch_counts("lib")[JobState.QUEUED] == 3
    assert sorted(dispatch.calls[0]) == sorted(job.id for job in jobs)
    # still QUEUED: sent again, in case the first dispatch never reached the broker
    assert sorted(dispatch.calls[1]) == sorted(dispatch.calls[0])


def test_jobs_that_moved_on_are_not_dispatched_again(
    manifest: Path, producer_settings: Settings, s3: S3Client, redis_client: redis.Redis
) -> None:
    first = enqueue(plan(manifest, producer_settings, s3), redis_client, Dispatched())
    assert first.created == 3
    moved = Ledger(redis_client).get_many(Ledger(redis_client).batch_ids("lib"))[0]
    Ledger(redis_client).transition(moved.id, JobState.CANCELLED, expect={JobState.QUEUED}, now=NOW)
    dispatch = Dispatched()
    again = enqueue(plan(manifest, producer_settings, s3), redis_client, dispatch)
    assert moved.id not in dispatch.calls[0]
    assert again.redispatched == 2


def test_a_batch_with_problems_writes_nothing(
    manifest: Path, producer_settings: Settings, s3: S3Client, redis_client: redis.Redis
) -> None:
    with manifest.open("a") as handle:
        handle.write('{"source": "/no/such/clip.mp4", "key": "lost"}\n')
    dispatch = Dispatched()
    batch = plan(manifest, producer_settings, s3)
    with pytest.raises(PreflightFailed) as caught:
        enqueue(batch, redis_client, dispatch)
    assert [(p.row, p.field) for p in caught.value.problems] == [(4, "source")]
    assert "row 4: source:" in str(caught.value)
    assert redis_client.dbsize() == 0
    assert dispatch.calls == []


def test_skip_invalid_enqueues_the_valid_rows_and_reports_the_rest(
    manifest: Path, producer_settings: Settings, s3: S3Client, redis_client: redis.Redis
) -> None:
    with manifest.open("a") as handle:
        handle.write('{"source": "/no/such/clip.mp4", "key": "lost"}\n')
        handle.write('{"source": "x.mp4", "seed": -4}\n')
    batch = plan(manifest, producer_settings, s3, skip_invalid=True)
    result = enqueue(batch, redis_client, Dispatched())
    assert (result.created, result.skipped_count) == (3, 2)
    assert [(p.row, p.field) for p in result.skipped] == [(4, "source"), (5, "seed")]
    ledger = Ledger(redis_client)
    jobs = ledger.get_many(ledger.batch_ids("lib"))
    assert sorted(job.item for job in jobs) == ["alpha", "beta", "gamma"]


def test_skip_invalid_with_no_valid_row_still_fails(
    tmp_path: Path, producer_settings: Settings, s3: S3Client, redis_client: redis.Redis
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("source\n/no/such/a.mp4\n")
    batch = plan(bad, producer_settings, s3, skip_invalid=True)
    with pytest.raises(PreflightFailed):
        enqueue(batch, redis_client, Dispatched())
    assert redis_client.dbsize() == 0


def test_a_batch_over_its_budget_does_not_start(
    manifest: Path, producer_settings: Settings, s3: S3Client, redis_client: redis.Redis
) -> None:
    batch = plan(manifest, producer_settings, s3, budget_usd=0.20)
    assert batch.over_budget
    dispatch = Dispatched()
    with pytest.raises(BudgetExceeded, match=r"exceeds the budget of \$0\.20"):
        enqueue(batch, redis_client, dispatch)
    assert redis_client.dbsize() == 0
    assert dispatch.calls == []


def test_a_batch_within_budget_stores_its_record_and_limit(
    manifest: Path, producer_settings: Settings, s3: S3Client, redis_client: redis.Redis
) -> None:
    batch = plan(manifest, producer_settings, s3, budget_usd=5.0)
    enqueue(batch, redis_client, Dispatched())
    record = BatchStore(redis_client).get("lib")
    assert record is not None
    assert (record.total_jobs, record.budget_usd, record.providers) == (3, 5.0, ("runway",))
    assert record.prompt_summary == "2 prompts"
    assert record.output_prefix == f"s3://{producer_settings.s3_bucket}/outputs"
    assert Budget(redis_client).status("lib").limit_usd == pytest.approx(5.0)

    raised = plan(manifest, producer_settings, s3, budget_usd=7.5)
    enqueue(raised, redis_client, Dispatched())
    assert Budget(redis_client).status("lib").limit_usd == pytest.approx(7.5)


def test_a_dry_run_plan_cannot_be_enqueued(
    manifest: Path, producer_settings: Settings, s3: S3Client, redis_client: redis.Redis
) -> None:
    batch = plan(manifest, producer_settings, s3, dry_run=True)
    assert len(batch.jobs) == 3
    with pytest.raises(InvalidOption, match="dry-run"):
        enqueue(batch, redis_client, Dispatched())
    assert redis_client.dbsize() == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"batch": "../etc"}, "--batch"),
        ({"output": "https://bucket/prefix"}, "--output"),
    ],
)
def test_bad_options_are_refused_before_any_source_is_read(
    manifest: Path,
    producer_settings: Settings,
    s3: S3Client,
    changes: dict[str, str],
    message: str,
) -> None:
    with pytest.raises(InvalidOption, match=message):
        plan(manifest, producer_settings, s3, **changes)


def test_an_output_option_sets_every_jobs_output_prefix(
    manifest: Path, producer_settings: Settings, s3: S3Client
) -> None:
    batch = plan(manifest, producer_settings, s3, output="s3://reviews/winter/")
    assert {p.job.output_prefix for p in batch.jobs} == {"s3://reviews/winter"}


def test_a_later_submit_never_takes_an_output_name_the_batch_already_uses(
    tmp_path: Path, library: str, producer_settings: Settings, s3: S3Client,
    redis_client: redis.Redis,
) -> None:  # fmt: skip
    # Runway (aleph2) keeps these clips' shape: plain jobs, named after their source.
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text(f"source\n{library}alpha.mp4\n")
    second.write_text(f"source,prompt\n{library}alpha.mp4,make it noir\n")
    dispatch = Dispatched()

    ledger = Ledger(redis_client)

    def names() -> dict[str, str | None]:
        return {job.item: job.output_name for job in ledger.get_many(ledger.batch_ids("names"))}

    one = enqueue(plan(first, producer_settings, s3, batch="names"), redis_client, dispatch)
    ((item, name),) = names().items()
    assert (one.created, name) == (1, "alpha")
    two = enqueue(plan(second, producer_settings, s3, batch="names"), redis_client, dispatch)
    # the same source, another edit: another item, another name
    ((other, other_name),) = [(key, value) for key, value in names().items() if key != item]
    assert two.created == 1 and other_name == other and other.startswith("alpha-")
    again = enqueue(plan(first, producer_settings, s3, batch="names"), redis_client, dispatch)
    assert (again.created, again.existing, names()[item]) == (0, 1, "alpha")
