"""The chaos run in small: 50 jobs through killed workers, a Redis restart, an S3 outage and a
faulty provider; every job ends, and every job paid more than once for a try is flagged."""

from __future__ import annotations

import pytest

from bench.chaos import run_chaos
from bench.disruptions import ChaosPlan

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]


def test_a_small_batch_under_chaos_loses_no_job_and_flags_every_double_payment() -> None:
    figures = run_chaos(ChaosPlan.small())

    done = figures.disruptions
    assert done["worker_kills"] >= 2 and done["redis_restarts"] == 1, figures.timeline
    assert done["s3_outages"] == 1 and done["maintenance_windows"] == 1, figures.timeline
    assert figures.lost == 0, figures.as_json()
    assert figures.reached_provider > 0
    # Idempotency keys are ignored, as every provider documents: a re-send may pay twice, and
    # every job that did is flagged.
    assert figures.paid_twice_unflagged == 0, figures.as_json()
    assert figures.stored_without_payment == 0, figures.as_json()
    assert figures.stored_objects_in_s3 == figures.stored, figures.as_json()
