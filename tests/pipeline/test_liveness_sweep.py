"""`restyle.reclaim`'s sweep over real Redis (no worker): a job whose holder's lease lapsed is
re-driven once, a live holder's never, a job held without a lease is left to the stall timers."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import redis

from config.settings import Settings
from devstack import Service
from jobs.liveness.store import job_subject
from jobs.states import JobState
from pipeline.context import Context
from pipeline.decisions import Step
from pipeline.liveness import lapsed_jobs
from tests.jobs.conftest import make_job


def test_only_a_lapsed_lease_is_re_driven_and_only_once(
    redis_server: Service, redis_client: redis.Redis[bytes]
) -> None:
    ctx = Context.from_settings(Settings(redis_url=redis_server.url, liveness_lease_s=8.0))
    now = datetime.now(UTC)
    dead, live, unleased = (make_job(item=name, created_at=now, updated_at=now)
                            for name in ("dead", "live", "unleased"))  # fmt: skip
    ctx.ledger.add([dead, live, unleased])
    for job in (dead, live, unleased):
        assert ctx.ledger.transition(job, JobState.SUBMITTING, expect={JobState.QUEUED}, now=now)
    ctx.leases.take(job_subject(dead.id), "killed-worker", 0.05)
    ctx.leases.take(job_subject(live.id), "slow-worker", 30.0)
    time.sleep(0.1)  # the dead holder's lease runs out in Redis's own clock

    later = datetime.now(UTC)
    redrives = lapsed_jobs(ctx, later)
    assert [(r.job_id, r.step) for r in redrives] == [(dead.id, Step.SUBMIT)]
    assert lapsed_jobs(ctx, later) == []  # marked: the next pass leaves it to that message
    ctx.close()
