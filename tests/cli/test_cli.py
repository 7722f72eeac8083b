"""The `restyle` command as a user runs it: a subprocess against private Redis and moto S3."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from devstack import Service, Stack
from devstack.stack import dev_key
from media.samples import make_clip


@pytest.fixture
def cli_env(session_stack: Stack, redis_server: Service, s3_server: Service) -> dict[str, str]:
    """The environment a user would set: the private services and one key per provider."""
    env = session_stack.env()
    for name in ("runway", "segmind", "aimlapi", "vibedream", "crun"):
        env[f"RESTYLE_{name.upper()}__API_KEYS"] = dev_key(name)
    env["RESTYLE_S3_BUCKET"] = "cli-outputs"
    return env


@pytest.fixture
def flushed(redis_client: redis.Redis) -> redis.Redis:
    return redis_client


def restyle(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env={**os.environ, **env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """Two real clips and a manifest that names them: at gen4_aleph's own frame and rate, so
    each is one job (another shape would be a clip, conformed: `media.conform`)."""
    for name in ("a", "b"):
        # Runway aleph2 takes 2-30 s
        make_clip(tmp_path / f"{name}.mp4", seconds=2.5, width=1280, height=720, fps=24)
    manifest = tmp_path / "library.csv"
    manifest.write_text("key,source,provider\nA,a.mp4,runway\nB,b.mp4,segmind\n")
    return manifest


def queued_jobs(client: redis.Redis) -> int:
    return len(client.keys("restyle:job:*"))


def test_a_manifest_without_a_source_column_names_file_line_and_field_and_queues_nothing(
    cli_env: dict[str, str],
    flushed: redis.Redis,
    tmp_path: Path,
) -> None:
    manifest = tmp_path / "bad.csv"
    manifest.write_text("key,prompt\nA,winter\n")
    result = restyle(cli_env, "submit", str(manifest), "--provider", "runway")
    assert result.returncode == 2
    assert "bad.csv" in result.stderr and "source" in result.stderr
    assert queued_jobs(flushed) == 0


def test_a_row_with_a_bad_field_fails_preflight_with_its_row_and_nothing_is_queued(
    cli_env: dict[str, str],
    flushed: redis.Redis,
    library: Path,
) -> None:
    library.write_text(
        "key,source,provider,aspect_ratio\nA,a.mp4,vibedream,21:9\nB,b.mp4,runway,\n"
    )
    result = restyle(cli_env, "submit", str(library), "--prompt", "winter")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "row 2" in result.stderr and "aspect_ratio" in result.stderr
    assert queued_jobs(flushed) == 0


def test_dry_run_prints_cost_per_provider_and_writes_nothing(
    cli_env: dict[str, str],
    flushed: redis.Redis,
    library: Path,
) -> None:
    result = restyle(cli_env, "submit", str(library), "--prompt", "winter", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "runway" in result.stdout and "segmind" in result.stdout and "$" in result.stdout
    assert queued_jobs(flushed) == 0


def test_submitting_the_same_manifest_twice_creates_no_duplicates(
    cli_env: dict[str, str],
    flushed: redis.Redis,
    library: Path,
) -> None:
    args = ("submit", str(library), "--prompt", "winter", "--batch", "twice")
    first = restyle(cli_env, *args)
    second = restyle(cli_env, *args)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "2 job(s) queued" in first.stdout
    assert "0 job(s) queued, 2 already there" in second.stdout
    status = restyle(cli_env, "status", "twice", "--json")
    assert json.loads(status.stdout)["jobs"] == 2


def test_a_batch_over_its_budget_does_not_start(
    cli_env: dict[str, str],
    flushed: redis.Redis,
    library: Path,
) -> None:
    result = restyle(cli_env, "submit", str(library), "--prompt", "winter", "--budget", "0.01")
    assert result.returncode == 1
    assert "exceeds the budget" in result.stderr
    assert queued_jobs(flushed) == 0


def test_a_wrong_setting_fails_in_one_line_naming_the_variable(cli_env: dict[str, str]) -> None:
    result = restyle({**cli_env, "RESTYLE_REDIS_URL": "http://nope"}, "batches")
    assert result.returncode == 2
    assert "RESTYLE_REDIS_URL" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_providers_lists_the_catalogue_without_printing_keys(cli_env: dict[str, str]) -> None:
    result = restyle(cli_env, "providers")
    assert result.returncode == 0, result.stderr
    for name in ("runway", "segmind", "aimlapi", "vibedream", "crun"):
        assert name in result.stdout
        assert dev_key(name) not in result.stdout + result.stderr


def test_enqueue_refuses_a_prompt_with_a_control_character_and_queues_nothing(
    cli_env: dict[str, str], flushed: redis.Redis
) -> None:
    args = ["enqueue", "https://example.com/in.mp4", "--provider", "runway"]
    result = restyle(cli_env, *args, "--prompt", "make it \x1b[31mred")
    assert result.returncode == 2
    assert "--prompt: contains the control character U+001B (ESC) at character 9" in result.stderr
    assert queued_jobs(flushed) == 0


def test_limits_and_providers_show_an_open_circuit_and_why(
    cli_env: dict[str, str],
    flushed: redis.Redis,
) -> None:
    from pydantic import SecretStr

    from config.settings import key_id
    from jobs.limits.breaker import Outcome
    from jobs.limits.breaker_store import Breakers

    crun = key_id(SecretStr(dev_key("crun")))
    Breakers(flushed).record("crun", crun, Outcome.MAINTENANCE, detail="HTTP 455, no Retry-After")
    Breakers(flushed).wait("some-job", 2e9)
    for command in ("limits", "providers"):
        result = restyle(cli_env, command)
        assert result.returncode == 0, result.stderr
        line = next(line for line in result.stdout.splitlines() if "crun" in line)
        assert "open for" in line and "(maintenance: HTTP 455" in result.stdout, result.stdout
        segmind = next(line for line in result.stdout.splitlines() if "segmind" in line)
        assert "closed" in segmind
    assert "1 job(s) waiting out an outage" in restyle(cli_env, "limits").stdout
