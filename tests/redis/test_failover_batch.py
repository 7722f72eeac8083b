"""A batch on real workers and beat survives a Sentinel failover and a single-Redis outage.

Both runs are bench.failover's, scaled down: nothing is restarted by hand, every job ends
STORED, and the emulator (honouring idempotency keys) was paid exactly once per job.
"""

from __future__ import annotations

import pytest

from bench.failover import FailoverFigures, FailoverPlan, run

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]


def assert_whole(result: FailoverFigures) -> None:
    figures = result.figures
    assert figures.stored == figures.jobs, result.as_json()
    assert figures.lost == 0, result.as_json()
    assert figures.paid_more_than_once == 0 and figures.bodies_paid_twice == 0, result.as_json()
    assert figures.payments == figures.jobs, result.as_json()
    assert result.workers_alive == result.workers and result.beat_alive, result.as_json()


def test_a_batch_outlives_the_primary_killed_mid_batch_and_pays_once_per_job() -> None:
    result = run("sentinel", FailoverPlan(jobs=30, give_up_s=240), sentinel=True)

    assert_whole(result)
    assert any("promoted" in note for note in result.notes), result.notes
    assert any("back as a slave" in note for note in result.notes), result.notes


def test_a_batch_outlives_one_redis_down_for_45_seconds() -> None:
    result = run("outage", FailoverPlan(jobs=20, outage_s=45, give_up_s=240), sentinel=False)

    assert_whole(result)
    assert result.disruption_s == 45
