"""Failure classes, expiry and rate limiting, through real workers against the emulator."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from config.settings import ProviderName, Settings
from devstack import Stack
from devstack.stack import dev_key
from emulator.client import EmulatorAdmin
from jobs.budget import Budget
from jobs.failures import FailureKind
from jobs.ledger import Ledger
from jobs.states import JobState
from tests.pipeline.conftest import make_job, run_to_end, unique_batch

Setup = Callable[[EmulatorAdmin], Any]

FAILURES: list[tuple[str, ProviderName, str, Setup, FailureKind]] = [
    ("moderation", ProviderName.RUNWAY, "a forbidden edit", lambda admin: None,
     FailureKind.MODERATION),
    ("auth", ProviderName.SEGMIND, "make it winter",
     lambda admin: admin.accept_keys("segmind", ["SG_0000000000000000"]), FailureKind.AUTH),
    ("credits", ProviderName.AIMLAPI, "make it winter",
     lambda admin: admin.limit_key(dev_key("aimlapi"), credits=0), FailureKind.CREDITS),
    ("generation", ProviderName.VIBEDREAM, "make it winter",
     lambda admin: admin.configure(providers={"vibedream": {"faults": {"job_failure": 1.0}}}),
     FailureKind.GENERATION),
    ("disabled", ProviderName.CRUN, "make it winter",
     lambda admin: admin.configure(providers={"crun": {"disabled": True}}),
     FailureKind.FEATURE_DISABLED),
]  # fmt: skip


@pytest.mark.parametrize(
    ("provider", "prompt", "setup", "kind"),
    [pytest.param(*case[1:], id=case[0]) for case in FAILURES],
)
def test_each_failure_class_ends_failed_with_its_kind_and_the_providers_message(
    pipeline_stack: Stack,
    worker_settings: Settings,
    ledger: Ledger,
    celery_app: Any,
    source_url: str,
    emulator: httpx.Client,
    provider: ProviderName,
    prompt: str,
    setup: Setup,
    kind: FailureKind,
) -> None:
    setup(EmulatorAdmin(emulator))
    job = make_job(worker_settings, unique_batch("fail"), "only", provider, source_url, prompt)
    if kind is FailureKind.CREDITS:
        # Out of credits with nowhere else to go, a job waits for a top-up until its deadline
        # (RESTYLE_JOB_DEADLINE_S after it was queued): queue this one close to it.
        aged = job.created_at - timedelta(seconds=worker_settings.job_deadline_s - 5)
        job = job.model_copy(update={"created_at": aged})
    (ended,) = run_to_end(ledger, celery_app, [job], 60)
    assert (ended.state, ended.failure_kind) == (JobState.FAILED, kind), ended.events
    assert ended.failure_message
    for key in worker_settings.provider(provider).api_keys:
        assert key.get_secret_value() not in ended.model_dump_json()


def test_output_gone_before_the_copy_ends_expired_with_the_reason(
    pipeline_stack: Stack,
    worker_settings: Settings,
    ledger: Ledger,
    celery_app: Any,
    source_url: str,
    emulator: httpx.Client,
) -> None:
    # vibedream's output URLs live from the job's completion; the first poll comes later.
    EmulatorAdmin(emulator).configure(providers={"vibedream": {"retention_s": 0.01}})
    batch = unique_batch("expire")
    job = make_job(worker_settings, batch, "only", ProviderName.VIBEDREAM, source_url)
    (ended,) = run_to_end(ledger, celery_app, [job], 60)
    assert (ended.state, ended.failure_kind) == (JobState.EXPIRED, FailureKind.EXPIRED)
    assert ended.failure_message and "404" in ended.failure_message, ended.failure_message


def test_a_provider_that_answers_429_then_recovers_gets_every_job_through(
    pipeline_stack: Stack,
    worker_settings: Settings,
    ledger: Ledger,
    celery_app: Any,
    source_url: str,
    emulator: httpx.Client,
) -> None:
    admin = EmulatorAdmin(emulator)
    admin.rate_limit(dev_key("segmind"), count=6, retry_after_s=1.0)
    batch = unique_batch("429")
    jobs = [
        make_job(worker_settings, batch, f"clip-{n}", ProviderName.SEGMIND, source_url)
        for n in range(6)
    ]
    ended = run_to_end(ledger, celery_app, jobs, 120)
    assert {job.state for job in ended} == {JobState.STORED}
    stats = admin.stats()
    assert stats["rate_limited_total"] >= 6
    assert all(count == 1 for count in stats["submissions"]["by_idempotency_key"].values())


def test_jobs_that_would_pass_the_batch_budget_end_failed_budget_and_are_never_sent(
    pipeline_stack: Stack,
    worker_settings: Settings,
    ledger: Ledger,
    celery_app: Any,
    source_url: str,
    emulator: httpx.Client,
) -> None:
    batch = unique_batch("budget")
    # Segmind sends no bill: the spend stays the estimate, so the budget's arithmetic does not
    # depend on whether a bill (Runway's) comes back before the last submit.
    jobs = [
        make_job(worker_settings, batch, f"clip-{n}", ProviderName.SEGMIND, source_url)
        for n in range(4)
    ]
    Budget(ledger.client).set_limit(batch, 2.5 * jobs[0].estimated_cost_usd)
    ended = run_to_end(ledger, celery_app, jobs, 60)
    assert sorted(job.state for job in ended) == [JobState.FAILED] * 2 + [JobState.STORED] * 2
    refused = [job for job in ended if job.state is JobState.FAILED]
    assert {job.failure_kind for job in refused} == {FailureKind.BUDGET}
    assert all(job.remote_id is None and job.attempt == 0 for job in refused)
    assert Budget(ledger.client).spent(batch) == pytest.approx(2 * jobs[0].estimated_cost_usd)
    assert EmulatorAdmin(emulator).stats()["submissions"]["paid_total"] == 2
