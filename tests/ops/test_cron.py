"""restyle's own cron reader means what beat's crontab means, and refuses what it refuses."""

from __future__ import annotations

import pytest
from celery.schedules import ParseException, crontab

from producer.cron import parse_cron

AGREED = [
    "0 2 * * *",
    "30 23 * * 0",
    "*/15 * * * *",
    "0 */4 * * *",
    "5,35 9-17 * * 1-5",
    "0 22-2 * * *",
    "0 0 1 jan,jul *",
    "0 3 */3 * sun",
    "10-50/20 1 1-31/10 2-12/2 sat",
    "0 0 29 feb mon",
    "59 23 31 12 6",
    "0 0 * * fri-mon",
]
REFUSED = [
    "0 25 * * *",
    "60 * * * *",
    "0 0 0 * *",
    "0 0 * 13 *",
    "0 0 * * 7",
    "0 0 * * xyz",
    "0 0 * * */",
    "0 0 * * ,",
    "* * * *",
    "* * * * * *",
]


@pytest.mark.parametrize("expression", AGREED)
def test_fields_expand_as_beat_expands_them(expression: str) -> None:
    minute, hour, day, month, weekday = expression.split()
    beat = crontab(minute, hour, weekday, day, month)
    ours = parse_cron(expression)
    assert set(ours.minutes) == beat.minute and set(ours.hours) == beat.hour
    assert ours.days_of_month == beat.day_of_month and ours.months == beat.month_of_year
    assert ours.days_of_week == beat.day_of_week


@pytest.mark.parametrize("expression", REFUSED)
def test_what_beat_refuses_is_refused_with_the_expression_named(expression: str) -> None:
    fields = expression.split()
    if len(fields) == 5:
        minute, hour, day, month, weekday = fields
        with pytest.raises((ParseException, ValueError)):
            crontab(minute, hour, weekday, day, month)
    with pytest.raises(ValueError, match=r"invalid cron expression|expected 5 fields"):
        parse_cron(expression)
