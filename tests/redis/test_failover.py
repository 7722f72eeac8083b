"""Real failovers: a primary, a replica and three sentinels (``redis-server --sentinel``).

The ledger's client comes from `config.redis`, as every process's does; the primary is
SIGKILLed and the sentinels promote the replica while the test goes on using the same client.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from config.redis import redis_client
from config.settings import Settings
from devstack.sentinel import SentinelCluster, start_sentinel_set
from jobs.ledger import Ledger
from jobs.replicas import NotReplicated, Replicas
from jobs.states import JobState
from tests.jobs.conftest import make_job

pytestmark = pytest.mark.timeout(120)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
Q, SUBMITTING, SUBMITTED = JobState.QUEUED, JobState.SUBMITTING, JobState.SUBMITTED


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SentinelCluster]:
    found = start_sentinel_set(tmp_path)
    yield found
    found.stop()


def ledger_of(cluster: SentinelCluster, replicas: int = 1) -> Ledger:
    settings = Settings(redis_url=cluster.url, redis_failover_wait_s=30)
    return Ledger(redis_client(settings), 3600, Replicas(replicas, 300))


def test_a_client_follows_the_failover_and_reloads_its_scripts(cluster: SentinelCluster) -> None:
    ledger = ledger_of(cluster)
    job = make_job(item="across")
    assert ledger.add([job]) == [True]
    old = cluster.kill_primary()

    started = time.monotonic()
    # The same client, no restart: it waits for the promotion, then the script (EVALSHA) meets
    # a primary that may not know it and is loaded there (redis-py's Script does).
    moved = ledger.transition(job.id, SUBMITTING, expect={Q}, now=T0)
    waited = time.monotonic() - started

    assert moved is not None and moved.state is SUBMITTING
    assert cluster.primary_port() != old.port
    assert waited < 30, waited
    new_primary = redis.Redis(port=cluster.primary_port())
    new_primary.script_flush()  # NOSCRIPT on the next call: reloaded, not an error
    assert ledger.transition(job.id, SUBMITTED, expect={SUBMITTING}, now=T0) is not None

    # With the only replica promoted nothing can hold a durable write, until the old primary
    # is back, as a replica.
    with pytest.raises(NotReplicated):
        ledger.transition(job.id, JobState.SUCCEEDED, expect={SUBMITTED}, now=T0, durable=True)
    cluster.restart(old)
    cluster.wait_replicated()
    assert cluster.role(old) == "slave"
    assert ledger.transition(
        job.id, JobState.ARCHIVING, expect={JobState.SUCCEEDED}, now=T0, durable=True
    )


def test_a_retried_compare_and_set_that_had_applied_counts_as_applied(
    cluster: SentinelCluster,
) -> None:
    ledger = ledger_of(cluster, replicas=0)
    job = make_job(item="twice")
    ledger.add([job])
    moved = ledger.transition(job, SUBMITTING, expect={Q}, now=T0)
    assert moved is not None

    # What a retry over a dropped connection sends: the very same script call again. Its
    # first run applied, so the version no longer matches, and the record is this call's own.
    replayed = moved.model_copy(update={"version": moved.version - 1, "state": Q})
    assert ledger._write(replayed, moved) == 1
    assert ledger.require(job.id) == moved
    assert ledger.batch_counts(job.batch)[SUBMITTING] == 1

    # Another writer's identical change is not mistaken for it: its token differs.
    rival = ledger.transition(job, SUBMITTED, expect={SUBMITTING}, now=T0)
    assert rival is not None
    assert ledger._write(replayed, moved) == 0


def test_wait_covers_exactly_the_acknowledged_but_unreplicated_write(
    cluster: SentinelCluster,
) -> None:
    ledger = ledger_of(cluster)
    kept, lost = make_job(item="kept"), make_job(item="lost")
    assert ledger.add([kept, lost]) == [True, True]  # WAIT 1: on the replica
    assert ledger.transition(kept, SUBMITTING, expect={Q}, now=T0, durable=True) is not None

    replica = cluster.replica()
    # Frozen, the replica cannot reconnect; with its link cut, nothing written from now on
    # reaches even its socket buffer (a frozen process still has the kernel receive for it).
    cluster.freeze(replica)
    redis.Redis(port=cluster.primary_port()).client_kill_filter(_type="replica")
    with pytest.raises(NotReplicated) as caught:
        ledger.transition(lost, SUBMITTING, expect={Q}, now=T0, durable=True)
    acknowledged = caught.value.written
    assert acknowledged is not None and acknowledged.state is SUBMITTING
    assert ledger.require(lost.id).state is SUBMITTING  # the primary acknowledged it...

    old = cluster.kill_primary()
    cluster.thaw(replica)
    cluster.wait_failover(old.port)

    # ...and the promoted replica never saw it: the claim a paid POST would have followed is
    # gone, which is why the step stops on NotReplicated. The write WAIT confirmed survives.
    assert ledger.require(lost.id).state is Q
    assert ledger.require(kept.id).state is SUBMITTING


def test_one_redis_down_and_back_within_the_wait_is_only_a_delay(tmp_path: Path) -> None:
    from devstack.redis import start_redis

    server = start_redis(tmp_path / "one", appendonly=True)
    try:
        settings = Settings(redis_url=server.url, redis_failover_wait_s=20)
        ledger = Ledger(redis_client(settings), 3600)
        job = make_job(item="outage")
        ledger.add([job])
        server.stop()  # a clean restart: AOF keeps the job
        restarted = time.monotonic()
        server.start()
        moved = ledger.transition(job.id, SUBMITTING, expect={Q}, now=T0 + timedelta(seconds=1))
        assert moved is not None
        assert time.monotonic() - restarted < 20
    finally:
        server.stop()
