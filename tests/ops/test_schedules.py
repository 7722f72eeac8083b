"""The schedule file: validation errors that point at the problem, and DST-correct firing times."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from config.settings import ProviderName
from producer.schedules import (
    Schedule,
    ScheduleError,
    batch_name_for,
    load_schedule,
    load_schedules,
    next_run,
    previous_run,
)

PARIS = ZoneInfo("Europe/Paris")
REPO = Path(__file__).resolve().parents[2]

GOOD = """
schedules:
  - name: nightly-winter
    cron: "0 2 * * *"
    timezone: Europe/Paris
    source: s3://library/incoming/
    prompt: make it winter
    provider: runway
    options: {aspect_ratio: "16:9", seed: 42, priority: bulk}
    budget_usd: 40
    output: s3://restyled/nightly/
  - name: weekly
    cron: "30 23 * * 0"
    source: manifests/weekly.csv
    prompt: film noir
    provider: segmind
"""


def schedule(cron: str = "0 2 * * *", timezone: str = "Europe/Paris") -> Schedule:
    return Schedule(
        name="nightly", cron=cron, timezone=timezone, source="s3://b/p/", prompt="winter",
        provider=ProviderName.RUNWAY,
    )  # fmt: skip


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "schedules.yaml"
    path.write_text(text)
    return path


def test_a_valid_file_loads_every_schedule_with_its_options(tmp_path: Path) -> None:
    nightly, weekly = load_schedules(write(tmp_path, GOOD))
    assert nightly.name == "nightly-winter"
    assert nightly.provider is ProviderName.RUNWAY
    assert nightly.options.seed == 42
    assert nightly.options.aspect_ratio == "16:9"
    assert nightly.budget_usd == 40
    assert weekly.timezone == "UTC"
    assert weekly.options.priority == "bulk"


def test_the_shipped_example_file_loads_and_has_no_active_schedule() -> None:
    assert load_schedules(REPO / "config" / "schedules.yaml") == []


def test_a_bad_cron_is_reported_with_file_schedule_name_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('"0 2 * * *"', '"0 2 * *"'))
    with pytest.raises(ScheduleError) as caught:
        load_schedules(path)
    message = str(caught.value)
    assert str(path) in message
    assert "schedule 'nightly-winter' (#1)" in message
    assert "cron: expected 5 fields" in message


def test_an_out_of_range_cron_value_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScheduleError, match=r"cron: invalid cron expression '0 25 \* \* \*'"):
        load_schedules(write(tmp_path, GOOD.replace('"0 2 * * *"', '"0 25 * * *"')))


def test_an_unknown_timezone_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScheduleError, match=r"nightly-winter.*timezone: unknown timezone"):
        load_schedules(write(tmp_path, GOOD.replace("Europe/Paris", "Europe/Atlantis")))


def test_a_nested_option_error_names_the_dotted_field(tmp_path: Path) -> None:
    with pytest.raises(ScheduleError, match=r"schedule 'nightly-winter' \(#1\): options.seed"):
        load_schedules(write(tmp_path, GOOD.replace("seed: 42", "seed: -1")))


def test_a_schedule_without_a_name_is_named_by_its_position(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("  - name: weekly\n", "  - cron2: x\n"))
    with pytest.raises(ScheduleError) as caught:
        load_schedules(path)
    assert "schedule #2: name: Field required" in str(caught.value)
    assert "schedule #2: cron2: Extra inputs are not permitted" in str(caught.value)


def test_an_unknown_provider_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScheduleError, match="'weekly' \\(#2\\): provider"):
        load_schedules(write(tmp_path, GOOD.replace("provider: segmind", "provider: dalle")))


def test_two_schedules_with_one_name_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ScheduleError, match="'weekly': name: used more than once"):
        load_schedules(write(tmp_path, GOOD.replace("nightly-winter", "weekly")))


def test_a_file_that_is_not_yaml_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ScheduleError, match="not valid YAML"):
        load_schedules(write(tmp_path, "schedules: [unclosed"))


def test_a_missing_file_is_reported_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(ScheduleError, match=r"missing.yaml: cannot read"):
        load_schedules(tmp_path / "missing.yaml")


def test_load_schedule_finds_one_by_name_or_says_it_is_absent(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    assert load_schedule(path, "weekly").provider is ProviderName.SEGMIND
    with pytest.raises(ScheduleError, match="no schedule named 'monthly'"):
        load_schedule(path, "monthly")


def test_next_run_is_the_local_time_of_the_next_day_when_today_has_passed() -> None:
    now = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)
    assert next_run(schedule(), now) == datetime(2025, 1, 11, 2, 0, tzinfo=PARIS)
    assert next_run(schedule(), now).utcoffset() is not None


def test_next_run_keeps_the_wall_clock_time_across_the_autumn_change() -> None:
    before = next_run(schedule(), datetime(2025, 10, 25, 12, 0, tzinfo=UTC))
    after = next_run(schedule(), before)
    assert before == datetime(2025, 10, 26, 0, 0, tzinfo=UTC)  # 02:00 CEST
    assert after == datetime(2025, 10, 27, 1, 0, tzinfo=UTC)  # 02:00 CET
    assert after.astimezone(PARIS).hour == 2


def test_a_time_skipped_by_the_spring_change_fires_once_just_after_it() -> None:
    skipped = schedule(cron="30 2 * * *")
    fired = next_run(skipped, datetime(2025, 3, 29, 12, 0, tzinfo=UTC))
    assert fired == datetime(2025, 3, 30, 1, 30, tzinfo=UTC)
    assert fired.astimezone(PARIS).hour == 3
    assert next_run(skipped, fired) == datetime(2025, 3, 31, 0, 30, tzinfo=UTC)


def test_a_time_repeated_by_the_autumn_change_fires_only_the_first_time() -> None:
    repeated = schedule(cron="30 2 * * *")
    first = next_run(repeated, datetime(2025, 10, 25, 12, 0, tzinfo=UTC))
    assert first == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)  # 02:30 CEST
    assert next_run(repeated, first) == datetime(2025, 10, 27, 1, 30, tzinfo=UTC)


def test_next_run_honours_day_of_week_with_sunday_as_zero() -> None:
    sundays = schedule(cron="30 23 * * 0", timezone="UTC")
    fired = next_run(sundays, datetime(2025, 1, 8, tzinfo=UTC))  # a Wednesday
    assert fired == datetime(2025, 1, 12, 23, 30, tzinfo=UTC)
    assert fired.isoweekday() == 7


def test_next_run_is_strictly_after_now_even_at_a_firing_time() -> None:
    at_firing = datetime(2025, 1, 11, 1, 0, tzinfo=UTC)  # 02:00 in Paris
    assert next_run(schedule(), at_firing) == datetime(2025, 1, 12, 1, 0, tzinfo=UTC)


def test_previous_run_is_the_firing_a_late_message_belongs_to() -> None:
    late = datetime(2025, 1, 11, 1, 7, 30, tzinfo=UTC)  # 02:07:30 in Paris
    assert previous_run(schedule(), late) == datetime(2025, 1, 11, 1, 0, tzinfo=UTC)
    assert previous_run(schedule(), datetime(2025, 1, 11, 1, 0, tzinfo=UTC)).day == 11


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_run(schedule(), datetime(2025, 1, 1))


def test_batch_name_uses_the_date_in_the_schedules_timezone() -> None:
    late_evening_utc = datetime(2025, 1, 10, 23, 30, tzinfo=UTC)  # already the 11th in Paris
    assert batch_name_for(schedule(), late_evening_utc) == "nightly-2025-01-11"
    assert batch_name_for(schedule(timezone="UTC"), late_evening_utc) == "nightly-2025-01-10"


def test_two_firings_of_one_night_make_one_batch_name() -> None:
    nightly = schedule()
    first = datetime(2025, 1, 11, 1, 0, 0, tzinfo=UTC)
    repeat = datetime(2025, 1, 11, 1, 4, 59, tzinfo=UTC)
    assert batch_name_for(nightly, previous_run(nightly, first)) == batch_name_for(
        nightly, previous_run(nightly, repeat)
    )
