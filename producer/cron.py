"""A 5-field cron expression read into the values each field allows: pure, no task queue.

The grammar is the one beat's `crontab` takes (so a schedule means the same in `restyle
schedules` and when beat fires it): each field is a comma-separated list of ``*``, ``*/step``,
``n``, ``a-b`` or ``a-b/step``; a range whose end is below its start wraps around; numbers may be
month names (``jan``) or weekday names (``sun``), three letters or more. Day-of-week 0 is
Sunday, and 7 is out of range.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

WEEKDAYS = {name: n for n, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
MONTHS = {
    name: n + 1
    for n, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
    )
}
_PART = re.compile(r"^(?:(?P<star>\*)|(?P<start>\w+?)(?:-(?P<end>\w+))?)(?:/(?P<step>\w*))?$")


@dataclass(frozen=True)
class Field:
    """One field's range of values: ``count`` values from ``low``."""

    name: str
    count: int
    low: int = 0

    @property
    def high(self) -> int:
        return self.low + self.count - 1


MINUTE, HOUR = Field("minute", 60), Field("hour", 24)
DAY_OF_MONTH, MONTH, DAY_OF_WEEK = Field("day", 31, 1), Field("month", 12, 1), Field("weekday", 7)


@dataclass(frozen=True)
class CronSpec:
    """A parsed cron expression: the allowed values of each field."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]

    def matches(self, day: date) -> bool:
        """True when the schedule may fire on ``day`` (a local calendar date)."""
        return (
            day.month in self.months
            and day.day in self.days_of_month
            and day.isoweekday() % 7 in self.days_of_week
        )


@lru_cache(maxsize=256)
def parse_cron(expression: str) -> CronSpec:
    """Parse a 5-field cron expression; ValueError saying what is wrong."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields (minute hour day month weekday), got {len(fields)}")
    try:
        order = (MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK)
        minute, hour, day, month, weekday = (
            expand(text, field) for text, field in zip(fields, order, strict=True)
        )
    except ValueError as exc:
        raise ValueError(f"invalid cron expression {expression!r}: {exc}") from None
    return CronSpec(
        tuple(sorted(minute)),
        tuple(sorted(hour)),
        frozenset(day),
        frozenset(month),
        frozenset(weekday),
    )


def expand(text: str, field: Field) -> set[int]:
    """The values one field's ``text`` allows."""
    values: set[int] = set()
    for part in text.split(","):
        found = _PART.match(part)
        if not part or found is None:
            raise ValueError(f"{field.name}: cannot read {part!r}")
        if found["star"]:
            span = list(range(field.low, field.high + 1))
        else:
            span = _span(found["start"], found["end"], field)
        step = found["step"]
        if step is not None:
            if not step.isdigit() or int(step) == 0:
                raise ValueError(f"{field.name}: the step of {part!r} must be a positive number")
            span = span[:: int(step)]
        values.update(span)
    return values


def _span(start: str, end: str | None, field: Field) -> list[int]:
    first = _number(start, field)
    if end is None:
        return [first]
    last = _number(end, field)
    if last < first:  # wraps around, as beat reads it: 22-2 is 22, 23, 0, 1, 2
        return [*range(first, field.high + 1), *range(field.low, last + 1)]
    return list(range(first, last + 1))


def _number(text: str, field: Field) -> int:
    if text.isdigit():
        value = int(text)
    elif (named := MONTHS.get(text[:3].lower(), WEEKDAYS.get(text[:3].lower()))) is not None:
        value = named
    else:
        raise ValueError(f"{field.name}: {text!r} is neither a number nor a month or day name")
    if not field.low <= value <= field.high:
        raise ValueError(f"{field.name}: {value} is outside {field.low}-{field.high}")
    return value
