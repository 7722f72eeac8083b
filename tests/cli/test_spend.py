"""`restyle spend`: estimated against billed, per provider and day (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from cli.jobs import cost_text
from cli.spend import spend_rows
from config.settings import ProviderName
from jobs.models import Job
from jobs.request import EditRequest
from producer.tally import job_cost as report_cost


def test_spend_rows_say_which_figures_are_billed_and_which_estimated() -> None:
    found = {
        ("2026-12-07", "runway"): {"estimated": 2.80, "billed": 1.40, "replaced": 2.80},
        ("2026-12-07", "segmind"): {"estimated": 2.25},
        ("2026-12-08", "runway"): {"estimated": 2.80, "billed": 0.0, "replaced": 1.40},
    }
    rows = {(row.day, row.provider): row for row in spend_rows(found)}
    assert rows[("2026-12-07", "runway")].spent_usd == 1.40
    assert rows[("2026-12-07", "runway")].basis == "billed"
    assert rows[("2026-12-07", "segmind")].basis == "estimated"
    # One refunded task ($0) and one still running, at its estimate.
    assert (rows[("2026-12-08", "runway")].spent_usd, rows[("2026-12-08", "runway")].basis) == (
        1.40,
        "mixed",
    )


def test_a_job_shows_its_cost_marked_billed_or_estimated() -> None:
    now = datetime(2026, 12, 7, tzinfo=UTC)
    job = Job(id="j", batch="b", item="i", provider=ProviderName.RUNWAY, created_at=now,
              updated_at=now, request=EditRequest(video_url="https://x/a.mp4", prompt="p"),
              estimated_cost_usd=1.40)  # fmt: skip
    assert cost_text(job) == "$1.40 estimated"
    billed = job.model_copy(update={"billed_cost_usd": 0.0, "provider_estimate_usd": 8.4})
    assert cost_text(billed) == ("$0.00 billed ($1.40 estimated); the provider said at most $8.40")
    running = job.model_copy(update={"provider_estimate_usd": 8.4, "remote_id": "t-1"})
    assert cost_text(running) == (
        "$1.40 estimated; $8.40 held in the budget: the provider's maximum, until its bill"
    )


def test_a_report_row_costs_the_bill_where_there_is_one() -> None:
    now = datetime(2026, 12, 7, tzinfo=UTC)
    job = Job(id="j", batch="b", item="i", provider=ProviderName.RUNWAY, created_at=now,
              updated_at=now, request=EditRequest(video_url="https://x/a.mp4", prompt="p"),
              estimated_cost_usd=1.40, remote_id="t-1")  # fmt: skip
    assert (report_cost(job), job.spend_basis) == (1.40, "estimated")
    refunded = job.model_copy(update={"billed_cost_usd": 0.0})
    assert (report_cost(refunded), refunded.spend_basis) == (0.0, "billed")
    assert report_cost(job.model_copy(update={"remote_id": None})) == 0.0  # never accepted
