"""Cost and wall-time estimates from the catalogue."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from config.catalogue import CATALOGUE, Price, ProviderSpec, provider_spec
from config.settings import ProviderName, Settings
from jobs.models import Job
from jobs.request import EditRequest
from producer.estimate import SummaryTally, job_cost, provider_wall_s

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def spec(name: ProviderName, **changes: object) -> ProviderSpec:
    return CATALOGUE[name].model_copy(update=changes)


def job(provider: ProviderName, cost: float, item: str) -> Job:
    request = EditRequest(video_url="https://example.com/a.mp4", prompt="p")
    return Job(
        id=item,
        batch="b",
        item=item,
        provider=provider,
        request=request,
        estimated_cost_usd=cost,
        created_at=NOW,
        updated_at=NOW,
    )


@pytest.mark.parametrize(
    ("price", "seconds", "expected"),
    [
        (Price(per_second_usd=0.15), 3.0, 0.45),
        (Price(per_second_usd=0.15), 12.0, 0.75),  # only the first 5 s are edited
        (Price(per_run_usd=1.125), 30.0, 1.125),
        (Price(per_second_usd=0.18, minimum_usd=1.0), 2.0, 1.0),
        (Price(per_second_usd=0.18, minimum_usd=1.0), 8.0, 1.0),
        (Price(per_run_usd=0.5, per_second_usd=0.1), 5.0, 1.0),
    ],
)
def test_job_cost_bills_at_most_the_output_length(
    price: Price, seconds: float, expected: float
) -> None:
    assert job_cost(spec(ProviderName.SEGMIND, price=price), seconds) == pytest.approx(expected)


@pytest.mark.parametrize(("seconds", "expected"), [(12.0, 12 * 0.28), (45.0, 30 * 0.28)])
def test_runway_aleph2_bills_the_inputs_length_up_to_its_30_s_window(
    seconds: float, expected: float
) -> None:
    assert job_cost(spec(ProviderName.RUNWAY), seconds) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("jobs", "concurrency", "keys", "typical", "expected"),
    [
        (0, 2, 1, 180.0, 0.0),
        (1, 2, 1, 180.0, 180.0),
        (2, 2, 1, 180.0, 180.0),
        (3, 2, 1, 180.0, 360.0),
        (10, 2, 2, 100.0, 300.0),
        (10, 4, 0, 60.0, 180.0),  # no key configured: estimate as if one
    ],
)
def test_wall_time_counts_waves_of_concurrent_jobs_per_key(
    jobs: int, concurrency: int, keys: int, typical: float, expected: float
) -> None:
    provider = spec(ProviderName.RUNWAY, concurrency=concurrency, typical_duration_s=typical)
    assert provider_wall_s(jobs, provider, keys) == pytest.approx(expected)


def test_wall_time_respects_a_request_rate_tighter_than_concurrency() -> None:
    provider = spec(ProviderName.SEGMIND, concurrency=1000, rate_per_s=0.5, typical_duration_s=1)
    assert provider_wall_s(100, provider, keys=1) == pytest.approx(200.0)


def test_summary_groups_by_provider_and_takes_the_slowest_provider_as_wall_time() -> None:
    settings = Settings()
    specs = {name: provider_spec(name, settings) for name in ProviderName}
    jobs = [job(ProviderName.RUNWAY, 0.75, f"r{i}") for i in range(5)]
    jobs += [job(ProviderName.SEGMIND, 1.125, f"s{i}") for i in range(3)]
    tally = SummaryTally()
    for one in jobs:
        tally.add(one, specs[one.provider])
    summary = tally.summary(specs, {ProviderName.RUNWAY: 1, ProviderName.SEGMIND: 2})
    by_name = {plan.provider: plan for plan in summary.providers}
    assert (by_name[ProviderName.RUNWAY].jobs, by_name[ProviderName.SEGMIND].jobs) == (5, 3)
    assert by_name[ProviderName.RUNWAY].cost_usd == pytest.approx(3.75)
    assert by_name[ProviderName.SEGMIND].cost_usd == pytest.approx(3.375)
    assert summary.jobs == 8
    assert summary.cost_usd == pytest.approx(7.125)
    # runway: ceil(5 / 2) waves of 180 s; segmind: ceil(3 / 8) wave of 170 s
    assert by_name[ProviderName.RUNWAY].wall_s == pytest.approx(540.0)
    assert by_name[ProviderName.SEGMIND].wall_s == pytest.approx(170.0)
    assert summary.wall_s == pytest.approx(540.0)


def test_an_empty_plan_costs_nothing_and_takes_no_time() -> None:
    summary = SummaryTally().summary({}, {})
    assert (summary.jobs, summary.cost_usd, summary.wall_s) == (0, 0.0, 0.0)
