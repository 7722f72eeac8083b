"""Putting the schedule file into celery-redbeat, so the schedule and beat's lock live in Redis.

RedBeat stores a crontab without its timezone and reads it in the app's (UTC), so a 02:00
Europe/Paris schedule would drift by an hour at every daylight-saving change. Each schedule's
entry is therefore a one-shot `rrule` at its next firing, computed by
`producer.schedules.next_run` in the schedule's own timezone, and re-armed by `sync_schedules`
(at beat start and from ``restyle.reconcile``) and by `arm_schedule` (from
``restyle.fire_schedule``, right after a firing). A firing sends ``restyle.fire_schedule`` with
``{"schedule": name}`` only; the task reloads the file by name.

A second beat started with the same Redis waits on RedBeat's lock and takes over when the first
one stops renewing it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from celery import Celery
from celery.schedules import schedule as every
from celery.signals import beat_init
from redbeat import RedBeatSchedulerEntry
from redbeat.schedulers import ensure_conf, get_redis
from redbeat.schedules import rrule

from config.settings import Settings
from producer.schedules import Schedule, ScheduleError, load_schedules, next_run

log = logging.getLogger(__name__)

FIRE_TASK = "restyle.fire_schedule"
RECONCILE_TASK = "restyle.reconcile"
RECONCILE_ENTRY = "restyle.reconcile"
RECLAIM_TASK = "restyle.reclaim"
RECLAIM_ENTRY = "restyle.reclaim"
SCHEDULE_ENTRY_PREFIX = "schedule:"


def entry_name(schedule_name: str) -> str:
    """The RedBeat entry name of a schedule (also shown in beat's log and Flower)."""
    return SCHEDULE_ENTRY_PREFIX + schedule_name


def sync_schedules(
    app: Celery,
    schedules: Sequence[Schedule],
    now: datetime,
    reconcile_every_s: float = 60.0,
    reclaim_every_s: float = 3.0,
) -> list[str]:
    """Arm every schedule, drop entries of schedules gone from the file; return dropped names."""
    ensure_conf(app)
    ensure_reconcile(app, reconcile_every_s)
    ensure_interval(app, RECLAIM_ENTRY, RECLAIM_TASK, reclaim_every_s)
    for item in schedules:
        arm_schedule(app, item, now)
    return _drop_stale(app, {entry_name(item.name) for item in schedules})


def arm_schedule(app: Celery, schedule: Schedule, now: datetime) -> datetime:
    """Make the schedule's entry due at its next firing after ``now``; return that time.

    A firing that is already due but not yet sent is left alone (beat is about to send it), so
    re-arming never skips a night.
    """
    ensure_conf(app)
    existing = _load(app, entry_name(schedule.name))
    pending = _pending_at(existing)
    if pending is not None and pending <= now:
        return pending
    fire_at = next_run(schedule, now)
    entry = RedBeatSchedulerEntry(
        entry_name(schedule.name),
        FIRE_TASK,
        rrule("MINUTELY", dtstart=fire_at.astimezone(UTC), count=1, app=app),
        kwargs={"schedule": schedule.name},
        app=app,
    )
    entry.last_run_at = (existing.last_run_at if existing else None) or now
    entry.save()
    log.info("schedule %s armed for %s", schedule.name, fire_at.isoformat())
    return fire_at


def ensure_reconcile(app: Celery, every_s: float = 60.0) -> None:
    """Create the ``restyle.reconcile`` entry (every ``every_s``) unless it exists unchanged."""
    ensure_interval(app, RECONCILE_ENTRY, RECONCILE_TASK, every_s)


def ensure_interval(app: Celery, name: str, task: str, every_s: float) -> None:
    """Create the entry ``name`` sending ``task`` every ``every_s`` unless it exists unchanged."""
    ensure_conf(app)
    existing = _load(app, name)
    interval = every(run_every=every_s, app=app)
    if existing is not None and existing.schedule == interval:
        return
    # A sweep not run by the time the next one is due is dropped (workers away or busy): the
    # next one does the same work, so a backlog of them would only delay real tasks.
    options = {"expires": every_s}
    RedBeatSchedulerEntry(name, task, interval, options=options, app=app).save()


def scheduled_entries(app: Celery) -> dict[str, datetime | None]:
    """Entry name -> when RedBeat will next send it (None: fired, waiting to be re-armed)."""
    ensure_conf(app)
    due: dict[str, datetime | None] = {}
    for key in _entry_keys(app):
        entry = _load_key(app, key)
        if entry is not None:
            due[entry.name] = _next_send(entry)
    return due


def connect_beat_sync(settings: Settings) -> None:
    """Sync the schedule file into RedBeat whenever ``celery beat`` starts."""

    def _sync(sender: Any = None, **_: Any) -> None:
        sync_from_file(sender.app, settings, datetime.now(UTC))

    beat_init.connect(_sync, weak=False, dispatch_uid="restyle.beat.sync")


def sync_from_file(app: Celery, settings: Settings, now: datetime) -> list[str]:
    """`sync_schedules` with the file named by ``settings.schedules_file``; logs file errors."""
    try:
        schedules = load_schedules(settings.schedules_file)
    except ScheduleError as exc:
        log.error("schedules not synced: %s", exc)
        return []
    return sync_schedules(
        app, schedules, now, settings.reconcile_interval_s, settings.liveness_sweep_s
    )


def _next_send(entry: RedBeatSchedulerEntry) -> datetime | None:
    if isinstance(entry.schedule, rrule):
        return _pending_at(entry)
    due: datetime | None = entry.due_at
    return due


def _pending_at(entry: RedBeatSchedulerEntry | None) -> datetime | None:
    if entry is None or not isinstance(entry.schedule, rrule):
        return None
    after = entry.last_run_at or datetime.min.replace(tzinfo=UTC)
    pending: datetime | None = entry.schedule.rrule.after(after)
    return pending


def _load(app: Celery, name: str) -> RedBeatSchedulerEntry | None:
    return _load_key(app, RedBeatSchedulerEntry.generate_key(app, name))


def _load_key(app: Celery, key: str) -> RedBeatSchedulerEntry | None:
    try:
        return RedBeatSchedulerEntry.from_key(key, app=app)
    except KeyError:
        return None


def _entry_keys(app: Celery) -> list[str]:
    members = get_redis(app).zrange(app.redbeat_conf.schedule_key, 0, -1)
    return [m.decode() if isinstance(m, bytes) else str(m) for m in members]


def _drop_stale(app: Celery, wanted: set[str]) -> list[str]:
    key_prefix: str = app.redbeat_conf.key_prefix
    dropped = []
    for key in _entry_keys(app):
        name = key.removeprefix(key_prefix)
        if name.startswith(SCHEDULE_ENTRY_PREFIX) and name not in wanted:
            RedBeatSchedulerEntry(name, app=app).delete()
            dropped.append(name)
    return dropped


def last_sent(app: Celery, name: str) -> datetime | None:
    """When beat last sent the entry ``name`` (None: never, or no such entry)."""
    ensure_conf(app)
    entry = _load(app, name)
    sent: datetime | None = entry.last_run_at if entry is not None else None
    return sent
