"""The `restyle` commands against a real Sentinel set, the documented production setup.

Every command reaches Redis through `config.redis` (a ``sentinel://`` URL used to crash
``restyle providers`` with ValueError), and every ledger carries the configured replicas.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.settings import Settings
from devstack.sentinel import SentinelCluster, start_sentinel_set
from devstack.stack import dev_key
from jobs.ledger import Ledger
from tests.jobs.conftest import make_job

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelCluster]:
    found = start_sentinel_set(tmp_path_factory.mktemp("sentinel-cli"))
    yield found
    found.stop()


def restyle(cluster: SentinelCluster, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "COLUMNS": "250",
        "RESTYLE_REDIS_URL": cluster.url,
        "RESTYLE_REDIS_WAIT_REPLICAS": "1",
        "RESTYLE_SEGMIND__API_KEYS": dev_key("segmind"),
    }
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_every_ledger_built_from_settings_waits_for_the_configured_replicas(
    cluster: SentinelCluster,
) -> None:
    settings = Settings(redis_url=cluster.url, redis_wait_replicas=1, redis_wait_timeout_ms=500)
    ledger = Ledger.from_settings(settings)

    assert (ledger.replicas.count, ledger.replicas.timeout_ms) == (1, 500)
    assert ledger.record_ttl_s == settings.job_record_ttl_s
    job = make_job(item="on-sentinel", batch="sentinel-batch")
    assert ledger.add([job]) == [True]  # WAIT 1 is met by the set's replica


@pytest.mark.parametrize("command", ["providers", "limits", "batches", "schedules"])
def test_each_command_runs_against_a_sentinel_set(
    cluster: SentinelCluster, command: str, tmp_path: Path
) -> None:
    settings = Settings(redis_url=cluster.url)
    Ledger.from_settings(settings).add([make_job(item=command, batch=f"b-{command}")])

    done = restyle(cluster, command)

    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    if command == "providers":
        segmind = next(line for line in done.stdout.splitlines() if "segmind" in line)
        assert "closed" in segmind  # the breakers were read from the primary
        assert "unreachable" not in done.stdout
    if command == "limits":
        assert "segmind" in done.stdout
    if command == "batches":
        assert "b-batches" in done.stdout
    if command == "schedules":
        assert "no schedules in config/schedules.yaml" in done.stdout
