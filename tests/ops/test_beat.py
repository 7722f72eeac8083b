"""Schedules in RedBeat: armed at their next local firing, sent by beat, re-armed after."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from celery import Celery
from redbeat import RedBeatScheduler, RedBeatSchedulerEntry

from config.settings import ProviderName
from producer.schedules import Schedule, next_run
from tasks.schedule_entries import (
    arm_schedule,
    entry_name,
    scheduled_entries,
    sync_schedules,
)
from workers.probe import beat_alive


def schedule(name: str = "nightly", cron: str = "0 2 * * *", tz: str = "Europe/Paris") -> Schedule:
    return Schedule(
        name=name, cron=cron, timezone=tz, source="s3://library/in/", prompt="make it winter",
        provider=ProviderName.RUNWAY,
    )  # fmt: skip


def queued_messages(client: redis.Redis, queue: str) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in client.lrange(queue, 0, -1)]


def test_sync_arms_each_schedule_at_its_next_local_firing(beat_app: Celery) -> None:
    now = datetime(2025, 10, 25, 12, 0, tzinfo=UTC)
    nightly, weekly = schedule(), schedule("weekly", "30 23 * * 0", "UTC")
    sync_schedules(beat_app, [nightly, weekly], now)
    entries = scheduled_entries(beat_app)
    assert entries[entry_name("nightly")] == next_run(nightly, now)
    assert entries[entry_name("weekly")] == next_run(weekly, now)


def test_sync_creates_one_reconcile_and_one_reclaim_entry(beat_app: Celery) -> None:
    now = datetime.now(UTC)
    sync_schedules(beat_app, [], now, reconcile_every_s=60, reclaim_every_s=3)
    sync_schedules(beat_app, [], now, reconcile_every_s=60, reclaim_every_s=3)
    for name, every_s in (("restyle.reconcile", 60), ("restyle.reclaim", 3)):
        key = RedBeatSchedulerEntry.generate_key(beat_app, name)
        entry = RedBeatSchedulerEntry.from_key(key, app=beat_app)
        assert entry.task == name
        assert entry.schedule.run_every == timedelta(seconds=every_s)
    assert sorted(scheduled_entries(beat_app)) == ["restyle.reclaim", "restyle.reconcile"]


def test_sync_drops_schedules_that_left_the_file(beat_app: Celery) -> None:
    now = datetime(2025, 1, 10, tzinfo=UTC)
    sync_schedules(beat_app, [schedule("a"), schedule("b")], now)
    dropped = sync_schedules(beat_app, [schedule("b")], now)
    assert dropped == [entry_name("a")]
    assert set(scheduled_entries(beat_app)) == {
        entry_name("b"),
        "restyle.reconcile",
        "restyle.reclaim",
    }


def test_beat_sends_a_due_firing_with_the_schedule_name_only(
    beat_app: Celery, redis_client: redis.Redis
) -> None:
    every_minute = schedule("minutely", "* * * * *", "UTC")
    due_at = arm_schedule(beat_app, every_minute, datetime.now(UTC) - timedelta(minutes=2))
    scheduler = RedBeatScheduler(app=beat_app)
    try:
        scheduler.tick()
    finally:
        scheduler.close()
    (message,) = queued_messages(redis_client, "batch")
    args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
    assert message["headers"]["task"] == "restyle.fire_schedule"
    assert (args, kwargs) == ([], {"schedule": "minutely"})
    assert scheduled_entries(beat_app)[entry_name("minutely")] is None
    assert due_at < datetime.now(UTC)


def test_a_fired_schedule_is_rearmed_at_its_following_firing(beat_app: Celery) -> None:
    every_minute = schedule("minutely", "* * * * *", "UTC")
    arm_schedule(beat_app, every_minute, datetime.now(UTC) - timedelta(minutes=2))
    scheduler = RedBeatScheduler(app=beat_app)
    try:
        scheduler.tick()
    finally:
        scheduler.close()
    now = datetime.now(UTC)
    rearmed = arm_schedule(beat_app, every_minute, now)
    assert rearmed == next_run(every_minute, now)
    assert scheduled_entries(beat_app)[entry_name("minutely")] == rearmed


def test_rearming_leaves_a_due_unsent_firing_alone(beat_app: Celery) -> None:
    nightly = schedule()
    armed = arm_schedule(beat_app, nightly, datetime(2025, 1, 10, 12, tzinfo=UTC))
    after_due = armed + timedelta(seconds=30)
    assert arm_schedule(beat_app, nightly, after_due) == armed
    assert scheduled_entries(beat_app)[entry_name("nightly")] == armed


def test_rearming_follows_a_changed_cron(beat_app: Celery) -> None:
    now = datetime(2025, 1, 10, 12, tzinfo=UTC)
    arm_schedule(beat_app, schedule(cron="0 2 * * *"), now)
    moved = arm_schedule(beat_app, schedule(cron="0 4 * * *"), now)
    assert moved == datetime(2025, 1, 11, 3, 0, tzinfo=UTC)
    assert scheduled_entries(beat_app)[entry_name("nightly")] == moved


def test_beat_is_alive_while_it_keeps_sending_reclaim() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert beat_alive(now - timedelta(seconds=5), now, every_s=3)
    assert beat_alive(now - timedelta(seconds=63), now, every_s=3)
    assert not beat_alive(now - timedelta(seconds=64), now, every_s=3)
    assert not beat_alive(None, now, every_s=3)
