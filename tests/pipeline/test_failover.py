"""Several providers as one pool, through real workers against the emulator's faults and stats.

CI-sized: 40 jobs rather than the issue's 200, and a 20 s maintenance window with breaker
cooldowns scaled down to seconds rather than a 20-minute one.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from config.settings import ProviderName, Settings
from devstack import Stack
from devstack.stack import dev_key
from emulator.client import EmulatorAdmin
from jobs.ledger import Ledger
from jobs.models import Job
from jobs.states import JobState
from tests.pipeline.conftest import FAST_ENV, make_job, run_to_end, unique_batch

P = ProviderName
JOBS = 40
CREDITS = 8
WINDOW_S = 20.0

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def worker_env() -> dict[str, str]:
    return {
        **FAST_ENV,
        "RESTYLE_BREAKER_COOLDOWN_S": "2",
        "RESTYLE_BREAKER_MAX_COOLDOWN_S": "8",
        "RESTYLE_BREAKER_CREDITS_COOLDOWN_S": "8",
    }


def routed(job: Job, *route: ProviderName, policy: str = "spread") -> Job:
    return job.model_copy(update={"route": route, "policy": policy, "provider": route[0]})


def test_auto_routes_around_maintenance_and_a_key_out_of_credits_and_pays_once(
    pipeline_stack: Stack,
    worker_settings: Settings,
    ledger: Ledger,
    celery_app: Any,
    source_url: str,
    emulator: httpx.Client,
) -> None:
    admin = EmulatorAdmin(emulator)
    admin.maintenance(600, provider="segmind")
    admin.limit_key(dev_key("aimlapi"), credits=CREDITS)
    batch = unique_batch("pool")
    jobs = [
        routed(make_job(worker_settings, batch, f"clip-{n}", P.SEGMIND, source_url, f"snow {n}"),
               P.SEGMIND, P.AIMLAPI, P.CRUN)
        for n in range(JOBS)
    ]  # fmt: skip
    try:
        ended = run_to_end(ledger, celery_app, jobs, 120)
    except AssertionError:
        _dump(ledger, jobs, pipeline_stack)
        raise
    assert {job.state for job in ended} == {JobState.STORED}, [j.events for j in ended]
    submissions = admin.stats()["submissions"]
    assert submissions["duplicates"] == []
    assert submissions["paid_total"] == JOBS
    assert submissions["paid_by_provider"] == {"aimlapi": CREDITS, "crun": JOBS - CREDITS}
    moves = [line for job in ended for line in job.moves]
    refused_by_segmind = [
        job for job in ended if any("maintenance" in e.detail for e in job.events)
    ]
    assert refused_by_segmind, "segmind refused no submit"
    for job in refused_by_segmind:
        assert any(line.split()[1].startswith("segmind/") for line in job.moves), job.moves
    assert any("aimlapi/" in line and "credits" in line for line in moves), moves
    unexplained = [line for line in moves if "maintenance" not in line and "credits" not in line]
    assert all("Retry-After" in line for line in unexplained), unexplained
    assert {job.provider for job in ended if job.moves} <= {P.AIMLAPI, P.CRUN}


def test_a_maintenance_window_without_retry_after_is_waited_out_by_every_job(
    pipeline_stack: Stack,
    worker_settings: Settings,
    ledger: Ledger,
    celery_app: Any,
    source_url: str,
    emulator: httpx.Client,
) -> None:
    admin = EmulatorAdmin(emulator)
    admin.maintenance(WINDOW_S, provider="crun", retry_after=False)
    closes = time.monotonic() + WINDOW_S
    batch = unique_batch("window")
    jobs = [
        make_job(worker_settings, batch, f"clip-{n}", P.CRUN, source_url, f"dusk {n}")
        for n in range(8)
    ]
    ended = run_to_end(ledger, celery_app, jobs, 120)
    assert {job.state for job in ended} == {JobState.STORED}, [j.events for j in ended]
    assert time.monotonic() >= closes
    stats = admin.stats()
    # Waiting jobs send nothing: the refused submits are the first few and one probe per
    # cooldown (2, 4, 8, 8 s), not eight attempts per job.
    assert 1 <= stats["faults"]["maintenance"] <= 4 + 8, stats["faults"]
    assert stats["submissions"]["paid_total"] == len(jobs)
    assert stats["submissions"]["duplicates"] == []


def _dump(ledger: Ledger, jobs: list[Job], stack: Stack) -> None:
    client = ledger.client
    for job in ledger.get_many([j.id for j in jobs]):
        if job.state is not JobState.STORED:
            print("STUCK", job.model_dump_json(indent=1))
            for worker in stack.workers:
                for line in worker.log_tail(100000).splitlines():
                    if job.id in line:
                        print("LOG", line[:700])
            print("watch", client.zscore("restyle:watch", job.id))
    for name in sorted(client.scan_iter("restyle:breaker*")):
        kind = client.type(name)
        print(name, client.hgetall(name) if kind == b"hash" else client.get(name))
    print("waiting", client.zrange("restyle:outage-waiting", 0, -1, withscores=True))
    for name in sorted(client.scan_iter("restyle:limiter:parked*")):
        print(
            name,
            client.type(name),
            client.zrange(name, 0, -1) if client.type(name) == b"zset" else "",
        )
    for name in sorted(client.scan_iter("restyle:limiter:slots*")):
        print(name, client.zrange(name, 0, -1, withscores=True))
