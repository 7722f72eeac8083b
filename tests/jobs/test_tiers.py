"""The rolling daily cap, decided with a given ``now``."""

from __future__ import annotations

import pytest

from jobs.limits.tiers import DAILY_WINDOW_S, daily_cap_wait_s, seeded

DAY = DAILY_WINDOW_S


@pytest.mark.parametrize(
    ("times", "cap", "now", "wait"),
    [
        ([], 10, 1000.0, None),
        ([0.0] * 9, 10, 100.0, None),
        ([float(n) for n in range(10)], 10, 100.0, DAY - 100.0),  # the oldest (0) must leave
        ([float(n) for n in range(10)], 10, DAY - 0.5, 0.5),  # 0 leaves in half a second
        ([float(n) for n in range(10)], 10, DAY + 0.5, None),  # 0 has left: one more fits
        ([float(n) for n in range(12)], 10, 100.0, DAY + 2 - 100.0),  # 3 must leave
        ([1.0, 2.0], None, 3.0, None),
    ],
)
def test_a_key_at_its_cap_waits_until_enough_generations_leave_the_window(
    times: list[float], cap: int | None, now: float, wait: float | None
) -> None:
    found = daily_cap_wait_s(times, cap, now)
    assert found == (None if wait is None else pytest.approx(wait))


def test_a_null_limit_is_seeded_from_the_setting_or_the_catalogue_and_says_so() -> None:
    assert seeded(3, 5, 2, read=True) == (3, "provider")
    assert seeded(None, 5, 2, read=True) == (5, "your setting (provider: null)")
    assert seeded(None, None, 2, read=True) == (2, "catalogue (provider: null)")
    assert seeded(None, None, None, read=False) == (None, "catalogue")
