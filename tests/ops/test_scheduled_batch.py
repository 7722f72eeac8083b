"""A schedule's firing creates its dated batch once, however often beat fires it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import redis

from config.settings import Settings
from jobs.ledger import Ledger
from jobs.models import Job
from media.samples import make_clip
from producer.run import fire_schedule
from producer.schedules import Schedule


def test_firing_a_schedule_twice_makes_one_dated_batch_without_duplicate_jobs(
    settings: Settings,
    redis_client: redis.Redis,
    tmp_path: Path,
) -> None:
    for name in ("a", "b", "c"):
        # At gen4_aleph's own frame and rate: each is one job (another shape is a clip).
        make_clip(tmp_path / f"{name}.mp4", seconds=2.0, width=1280, height=720, fps=24)
    schedule = Schedule(
        name="nightly-noir",
        cron="0 2 * * *",
        timezone="Europe/Paris",
        source=str(tmp_path),
        prompt="film noir",
        provider="segmind",
    )
    sent: list[Job] = []
    now = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)  # 02:30 in Paris, after the 02:00 firing

    first = fire_schedule(schedule, settings, redis_client, sent.extend, now)
    again = fire_schedule(schedule, settings, redis_client, sent.extend, now)

    assert first.batch == again.batch == "nightly-noir-2026-11-24"
    assert (first.created, again.created, again.existing) == (3, 0, 3)
    ids = Ledger(redis_client).batch_ids(first.batch)
    assert len(ids) == 3
    assert {job.id for job in sent} == set(ids)
