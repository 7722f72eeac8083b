"""Nightly batches: the schedule file, and when each schedule fires.

The file (``config/schedules.yaml`` by default, ``RESTYLE_SCHEDULES_FILE`` to move it) holds a
``schedules:`` list. Each entry names a cron expression read in its own IANA timezone::

    schedules:
      - name: nightly-winter
        cron: "0 2 * * *"            # minute hour day-of-month month day-of-week
        timezone: Europe/Paris
        source: s3://library/incoming/
        prompt: make it a snowy winter evening
        provider: runway
        options: {aspect_ratio: "16:9", seed: 42, priority: bulk}
        budget_usd: 40
        output: s3://restyled/nightly/

Cron fields follow beat's crontab (read by `producer.cron`, free of Celery): day-of-week 0 is
Sunday, and a day must match day-of-month *and* day-of-week (not either, as in Vixie cron).
Daylight-saving changes: a wall time the clocks skip fires once, as far after the change as it
was after the last valid time (02:30 on a spring-forward night fires at 03:30); a wall time that
happens twice fires once, the first time. Each firing makes the batch ``<name>-<YYYY-MM-DD>``,
dated in the schedule's timezone, so two firings on one local day make one batch.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from config.settings import ProviderName
from jobs.request import AspectRatio
from producer.cron import parse_cron

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
SEARCH_DAYS = 366 * 30
"""How far next_run/previous_run look: "Feb 29 on a Monday" recurs within 28 years."""


class ScheduleError(ValueError):
    """The schedule file is unreadable or wrong; the message names file, schedule and field."""


class ScheduleOptions(BaseModel):
    """Per-batch edit options applied to every item of a scheduled batch."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    aspect_ratio: AspectRatio | None = None
    seed: int | None = Field(default=None, ge=0, le=4_294_967_295)
    reference_image: str | None = None
    priority: Literal["interactive", "bulk"] = "bulk"


class Schedule(BaseModel):
    """One recurring batch: when it fires, what it edits and how, and where the outputs go."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    cron: str
    timezone: str = "UTC"
    source: str = Field(min_length=1)
    prompt: str = Field(min_length=1, max_length=1000)
    provider: ProviderName
    options: ScheduleOptions = ScheduleOptions()
    budget_usd: float | None = Field(default=None, gt=0)
    output: str | None = None

    @field_validator("cron")
    @classmethod
    def _check_cron(cls, value: str) -> str:
        parse_cron(value)
        return " ".join(value.split())

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        zone_of(value)
        return value

    @property
    def zone(self) -> ZoneInfo:
        return zone_of(self.timezone)


def zone_of(name: str) -> ZoneInfo:
    """The IANA timezone ``name``; ValueError when it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {name!r} (an IANA name like Europe/Paris)") from None


def next_run(schedule: Schedule, now: datetime) -> datetime:
    """The first firing strictly after ``now`` (aware), in UTC (compare and store it as is)."""
    local_day = _aware(now).astimezone(schedule.zone).date()
    for offset in range(SEARCH_DAYS):
        later = [at for at in _firings_on(schedule, local_day + timedelta(offset)) if at > now]
        if later:
            return min(later)
    raise ValueError(f"schedule {schedule.name!r} never fires ({schedule.cron})")


def previous_run(schedule: Schedule, now: datetime) -> datetime:
    """The last firing at or before ``now`` (aware), in UTC: the one a late message belongs to."""
    local_day = _aware(now).astimezone(schedule.zone).date()
    for offset in range(SEARCH_DAYS):
        earlier = [at for at in _firings_on(schedule, local_day - timedelta(offset)) if at <= now]
        if earlier:
            return max(earlier)
    raise ValueError(f"schedule {schedule.name!r} never fired ({schedule.cron})")


def batch_name_for(schedule: Schedule, fire_time: datetime) -> str:
    """``<name>-<YYYY-MM-DD>``, the date of ``fire_time`` in the schedule's timezone."""
    return f"{schedule.name}-{_aware(fire_time).astimezone(schedule.zone).date().isoformat()}"


def _firings_on(schedule: Schedule, day: date) -> list[datetime]:
    spec = parse_cron(schedule.cron)
    if not spec.matches(day):
        return []
    zone = schedule.zone
    return [
        _to_utc(datetime.combine(day, time(hour, minute), tzinfo=zone))
        for hour in spec.hours
        for minute in spec.minutes
    ]


def _to_utc(wall: datetime) -> datetime:
    # fold=0 moves a skipped wall time past the gap (PEP 495); UTC keeps == and < unambiguous.
    return wall.astimezone(UTC)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a timezone-aware datetime is required")
    return moment


def load_schedules(path: Path | str) -> list[Schedule]:
    """Read and validate the schedule file; `ScheduleError` names file, schedule and field."""
    path = Path(path)
    entries = _entries(path, _read_yaml(path))
    problems: list[str] = []
    schedules: list[Schedule] = []
    for index, entry in enumerate(entries):
        try:
            schedules.append(Schedule.model_validate(entry))
        except ValidationError as exc:
            problems.extend(_describe(path, index, entry, exc))
    problems.extend(_duplicates(path, schedules))
    if problems:
        raise ScheduleError("\n".join(problems))
    return schedules


def load_schedule(path: Path | str, name: str) -> Schedule:
    """The schedule called ``name`` in the file; `ScheduleError` when there is none."""
    for schedule in load_schedules(path):
        if schedule.name == name:
            return schedule
    raise ScheduleError(f"{path}: no schedule named {name!r}")


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScheduleError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ScheduleError(f"{path}: not valid YAML: {exc}") from None


def _entries(path: Path, document: Any) -> list[Any]:
    if document is None:
        return []
    if not isinstance(document, dict) or set(document) - {"schedules"}:
        raise ScheduleError(f"{path}: expected a mapping with one key, 'schedules'")
    entries = document.get("schedules") or []
    if not isinstance(entries, list):
        raise ScheduleError(f"{path}: 'schedules' must be a list")
    return entries


def _describe(path: Path, index: int, entry: Any, exc: ValidationError) -> list[str]:
    name = entry.get("name") if isinstance(entry, dict) else None
    who = f"schedule {name!r} (#{index + 1})" if name else f"schedule #{index + 1}"
    lines = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "(entry)"
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{path}: {who}: {field}: {message}")
    return lines


def _duplicates(path: Path, schedules: list[Schedule]) -> list[str]:
    seen: set[str] = set()
    problems = []
    for schedule in schedules:
        if schedule.name in seen:
            problems.append(f"{path}: schedule {schedule.name!r}: name: used more than once")
        seen.add(schedule.name)
    return problems
