"""The `restyle` commands against a real Sentinel set, the documented production setup.

Every command reaches Redis through `config.redis` (a ``sentinel://`` URL used to crash
``restyle providers`` with ValueError), and every ledger carries the configured replicas.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

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


def restyle(cluster: SentinelCluster, *commands: str) -> list[subprocess.CompletedProcess[str]]:
    """Each of ``commands`` (side by side) as a user runs it against the Sentinel set."""
    env = {
        **os.environ,
        "COLUMNS": "250",
        "RESTYLE_REDIS_URL": cluster.url,
        "RESTYLE_REDIS_WAIT_REPLICAS": "1",
        "RESTYLE_SEGMIND__API_KEYS": dev_key("segmind"),
    }
    children = [
        subprocess.Popen([sys.executable, "-m", "cli", command], env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for command in commands
    ]  # fmt: skip
    done = []
    for child in children:
        out, err = child.communicate(timeout=60)
        done.append(subprocess.CompletedProcess(child.args, child.returncode, out, err))
    return done


def test_every_ledger_built_from_settings_waits_for_the_configured_replicas(
    cluster: SentinelCluster,
) -> None:
    settings = Settings(redis_url=cluster.url, redis_wait_replicas=1, redis_wait_timeout_ms=500)
    ledger = Ledger.from_settings(settings)

    assert (ledger.replicas.count, ledger.replicas.timeout_ms) == (1, 500)
    assert ledger.record_ttl_s == settings.job_record_ttl_s
    job = make_job(item="on-sentinel", batch="sentinel-batch")
    assert ledger.add([job]) == [True]  # WAIT 1 is met by the set's replica


COMMANDS = ("providers", "limits", "batches", "schedules")


def test_each_command_runs_against_a_sentinel_set(cluster: SentinelCluster) -> None:
    Ledger.from_settings(Settings(redis_url=cluster.url)).add([make_job(batch="on-sentinel")])

    outputs = dict(zip(COMMANDS, restyle(cluster, *COMMANDS), strict=True))

    for command, done in outputs.items():
        assert done.returncode == 0, (command, done.stderr)
        assert "Traceback" not in done.stderr, command
    providers = outputs["providers"].stdout
    segmind = next(line for line in providers.splitlines() if "segmind" in line)
    assert "closed" in segmind  # the breakers were read from the primary
    assert "unreachable" not in providers
    assert "segmind" in outputs["limits"].stdout
    assert "on-sentinel" in outputs["batches"].stdout
    assert "no schedules in config/schedules.yaml" in outputs["schedules"].stdout
