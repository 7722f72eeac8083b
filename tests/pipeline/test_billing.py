"""Billed spend over seven providers with real workers: the providers' own bills, refunds at
$0, and the emulator's ledger of charges; a lost answer on Comfy is paid once, not flagged;
Runway's maximum held in the budget from its create answer to its bill; a cancelled job keeps
only what its provider bills."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import httpx
import pytest

from cli.batches import status_lines, status_summary
from cli.jobs import cost_text
from config.catalogue import provider_spec
from config.settings import ProviderName, Settings
from devstack import Stack
from emulator.render import seconds_of
from jobs.budget import Budget
from jobs.failures import FailureKind
from jobs.ledger import Ledger
from jobs.models import Job
from jobs.routes import Policy, quote
from jobs.states import JobState
from pipeline.ambiguity import PAID_ONCE
from pipeline.context import Context
from pipeline.operations.cancelling import cancel_batch
from tasks.messages import dispatch_jobs
from tests.pipeline.conftest import make_job, run_to_end, unique_batch, wait_until

ALL = tuple(ProviderName)


def charges(emulator: httpx.Client) -> dict[str, float]:
    found: dict[str, float] = emulator.get("/_emulator/stats").json()["charges_usd"]
    return found


def priced(settings: Settings, job: Job, seconds: float, route: tuple[ProviderName, ...]) -> Job:
    """``job`` as preflight plans it: its source's length, its route, its whole-clip price."""
    cost = quote(provider_spec(job.provider, settings), seconds).cost_usd
    changes = {"source_seconds": seconds, "estimated_cost_usd": cost, "route": route,
               "policy": Policy.SPREAD.value}  # fmt: skip
    return job.model_copy(update=changes)


@pytest.mark.slow
def test_billed_spend_over_seven_providers_equals_the_emulators_charges_to_the_cent(
    pipeline_stack: Stack,
    worker_settings: Settings,
    ledger: Ledger,
    celery_app,
    source_url: str,
    emulator: httpx.Client,
) -> None:
    batch = unique_batch("billed")
    seconds = seconds_of(httpx.get(source_url).content)  # what the probe reads, to the frame
    before = charges(emulator)
    auto = [
        priced(worker_settings, job, seconds, ALL)
        for job in (
            make_job(worker_settings, batch, f"c{n:02d}", ALL[n % 7], source_url) for n in range(21)
        )
    ]
    # Runway's two slots may all go to the pinned jobs: a bill and a refund, both its own.
    runway = ProviderName.RUNWAY
    pinned = [
        make_job(worker_settings, batch, "billed", runway, source_url),
        make_job(worker_settings, batch, "refunded", runway, source_url, "a forbidden edit"),
    ]
    jobs = [*auto, *(priced(worker_settings, job, seconds, ()) for job in pinned)]
    done = {job.item: job for job in run_to_end(ledger, celery_app, jobs, 180)}

    assert done["refunded"].state is JobState.FAILED
    assert done["refunded"].billed_cost_usd == 0.0
    stored = [done[job.item] for job in [*auto, pinned[0]]]
    assert {job.state for job in stored} == {JobState.STORED}, [
        (job.provider, job.state, job.failure_message) for job in stored
    ]
    assert {job.provider for job in stored} == set(ALL)  # spread fills every provider
    assert done["billed"].billed_cost_usd is not None and done["billed"].billed_cost_usd > 0
    for job in stored:
        billed = provider_spec(job.provider, worker_settings).reports_cost
        assert (job.billed_cost_usd is not None) is billed, job.provider
    after = charges(emulator)
    charged = {name: round(after.get(name, 0.0) - before.get(name, 0.0), 6) for name in after}
    money = Budget(ledger.client).status(batch)
    # Spend is the bill where the provider gives one, the estimate elsewhere; both equal what
    # the providers charged, to the cent.
    assert money.spent_usd == pytest.approx(sum(charged.values()), abs=0.005)
    billed_here = sum(job.billed_cost_usd or 0.0 for job in done.values())
    assert money.billed_usd == pytest.approx(billed_here, abs=1e-6)
    assert billed_here == pytest.approx(charged["runway"] + charged["openrouter"], abs=0.005)


@pytest.mark.slow
def test_comfy_after_a_lost_answer_is_paid_once_and_not_flagged(
    pipeline_stack: Stack,
    worker_settings: Settings,
    ledger: Ledger,
    celery_app,
    source_url: str,
    emulator: httpx.Client,
) -> None:
    # The first POST creates the run, then its answer is broken (an unreadable 2xx).
    faults = {"providers": {"comfy": {"faults": {"malformed": 1.0}}}}
    emulator.post("/_emulator/config", json=faults).raise_for_status()
    batch = unique_batch("comfy-lost")
    job = make_job(worker_settings, batch, "clip", ProviderName.COMFY, source_url)
    assert ledger.add([job]) == [True]
    dispatch_jobs(celery_app, [job])
    wait_until(lambda: ledger.require(job.id).answer_lost, 30, lambda: str(ledger.require(job.id)))
    clean = {"providers": {"comfy": {"faults": {"malformed": 0.0}}}}
    emulator.post("/_emulator/config", json=clean).raise_for_status()
    wait_until(lambda: ledger.require(job.id).state.terminal, 60,
               lambda: str(ledger.require(job.id)))  # fmt: skip

    ended = ledger.require(job.id)
    stats = emulator.get("/_emulator/stats").json()["submissions"]
    assert ended.state is JobState.STORED
    assert stats["requests_by_idempotency_key"][f"{job.id}.1"] == 2  # sent twice
    assert stats["by_idempotency_key"] == {f"{job.id}.1": 1}  # paid once
    assert ended.possible_double_charges == 0
    assert sum(PAID_ONCE in event.detail for event in ended.events) == 2  # re-sent, replayed
    assert Budget(ledger.client).status(batch).spent_usd == pytest.approx(job.estimated_cost_usd)


def _runway_processing(emulator: httpx.Client, seconds: float) -> None:
    knobs = {"providers": {"runway": {"processing": {"min_s": seconds, "max_s": seconds}}}}
    emulator.post("/_emulator/config", json=knobs).raise_for_status()


def _submitted(ledger: Ledger, job: Job) -> Job:
    wait_until(lambda: ledger.require(job.id).state is not JobState.QUEUED
               and ledger.require(job.id).state is not JobState.SUBMITTING, 30,
               lambda: str(ledger.require(job.id)))  # fmt: skip
    found = ledger.require(job.id)
    assert found.state is JobState.SUBMITTED, found
    return found


def test_a_runway_job_holds_its_providers_maximum_in_the_budget_until_its_bill(
    pipeline_stack: Stack,
    worker_settings: Settings,
    ledger: Ledger,
    celery_app,
    source_url: str,
    emulator: httpx.Client,
) -> None:
    _runway_processing(emulator, 3.0)
    batch = unique_batch("ceiling")
    budget = Budget(ledger.client)
    budget.set_limit(batch, 8.5)
    seconds = seconds_of(httpx.get(source_url).content)
    first, second = (
        priced(worker_settings, make_job(worker_settings, batch, item, ProviderName.RUNWAY,
                                         source_url), seconds, ())
        for item in ("first", "second")
    )  # fmt: skip
    assert first.estimated_cost_usd < 1.0  # ours; Runway's estimatedCost is 840 credits
    assert ledger.add([first]) == [True]
    dispatch_jobs(celery_app, [first])
    running = _submitted(ledger, first)

    money = budget.status(batch)
    assert (money.spent_usd, money.ceiling_usd, money.reserved_usd) == (8.40, 8.40, 0.0)
    assert "$8.40 held in the budget: the provider's maximum" in cost_text(running)
    assert (
        "$8.40 held at the providers' maxima"
        in status_lines(status_summary(ledger, budget, batch))[-2]
    )
    # The next submit of the batch sees the maximum: with it, its estimate passes the limit.
    (refused,) = run_to_end(ledger, celery_app, [second], 30)
    assert (refused.state, refused.failure_kind) == (JobState.FAILED, FailureKind.BUDGET)
    wait_until(lambda: ledger.require(first.id).state.terminal, 60,
               lambda: str(ledger.require(first.id)))  # fmt: skip

    billed = ledger.require(first.id).billed_cost_usd
    money = budget.status(batch)
    assert billed is not None and 0 < billed < 8.40
    assert (money.spent_usd, money.billed_usd, money.ceiling_usd) == (billed, billed, 0.0)


def test_a_cancelled_job_keeps_only_what_its_provider_bills(
    pipeline_stack: Stack,
    worker_settings: Settings,
    ledger: Ledger,
    celery_app,
    source_url: str,
    emulator: httpx.Client,
) -> None:
    _runway_processing(emulator, 30.0)
    batch = unique_batch("cancel")
    running, waiting = (make_job(worker_settings, batch, item, ProviderName.RUNWAY, source_url)
                        for item in ("running", "waiting"))  # fmt: skip
    assert ledger.add([running, waiting]) == [True, True]
    dispatch_jobs(celery_app, [running])
    _submitted(ledger, running)
    assert Budget(ledger.client).status(batch).spent_usd == 8.40  # Runway's maximum

    _, outcomes = cancel_batch(Context.from_settings(worker_settings), batch, datetime.now(UTC))

    assert outcomes == Counter({"cancelled at the provider": 1, "cancelled before submission": 1})
    cancelled = ledger.require(running.id)
    # Runway's cancelled task reports cost 0 credits: refunded, so nothing is spent.
    assert (cancelled.state, cancelled.billed_cost_usd) == (JobState.CANCELLED, 0.0)
    assert "billed $0.00 (refunded" in cancelled.events[-2].detail
    assert "nothing was reserved or spent" in ledger.require(waiting.id).events[-1].detail
    money = Budget(ledger.client).status(batch)
    assert (money.spent_usd, money.reserved_usd, money.ceiling_usd) == (0.0, 0.0, 0.0)


def test_a_job_cancelled_while_running_at_runway_keeps_its_bill(
    pipeline_stack: Stack,
    worker_settings: Settings,
    ledger: Ledger,
    celery_app,
    source_url: str,
    emulator: httpx.Client,
) -> None:
    _runway_processing(emulator, 10.0)  # pending for 2 s, then running
    job = make_job(worker_settings, unique_batch("cancel-run"), "running", ProviderName.RUNWAY,
                   source_url)  # fmt: skip
    assert ledger.add([job]) == [True]
    dispatch_jobs(celery_app, [job])
    wait_until(lambda: ledger.require(job.id).progress is not None, 30,
               lambda: str(ledger.require(job.id)))  # fmt: skip

    cancel_batch(Context.from_settings(worker_settings), job.batch, datetime.now(UTC))

    cancelled = ledger.require(job.id)
    charged = charges(emulator)["runway"]
    # "Cancelling a RUNNING task does not refund": its cost is the bill, not Runway's maximum.
    assert cancelled.state is JobState.CANCELLED
    assert cancelled.billed_cost_usd == pytest.approx(charged) and 0 < charged < 8.40
    money = Budget(ledger.client).status(job.batch)
    assert (money.spent_usd, money.billed_usd, money.ceiling_usd) == (charged, charged, 0.0)
