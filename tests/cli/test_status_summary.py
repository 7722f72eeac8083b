"""`restyle status`'s summary counts possible double charges, with their cost, beside spend."""

from __future__ import annotations

from datetime import UTC, datetime

import redis

from cli.batches import status_summary
from config.settings import ProviderName
from jobs.budget import Budget
from jobs.ledger import Ledger
from jobs.models import Job
from jobs.request import EditRequest

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def job(item: str, doubled: int) -> Job:
    return Job(
        id=f"sum-{item}",
        batch="sum",
        item=item,
        provider=ProviderName.SEGMIND,
        request=EditRequest(video_url="https://example.com/a.mp4", prompt="p"),
        estimated_cost_usd=1.125,
        possible_double_charges=doubled,
        created_at=NOW,
        updated_at=NOW,
    )


def test_status_summary_shows_possible_double_charges_and_their_cost(
    redis_client: redis.Redis,
) -> None:
    ledger = Ledger(redis_client)
    ledger.add([job("a", 0), job("b", 2), job("c", 1)])
    summary = status_summary(ledger, Budget(redis_client), "sum")
    assert summary["possible_double_charges"] == 3
    assert summary["possible_double_charge_usd"] == 3 * 1.125
