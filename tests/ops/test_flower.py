"""Flower: refuses to start without auth, protects the dashboard and API, serves /metrics open."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from devstack import Service
from workers.flower import FlowerOptions, flower_launch

from .support import FLOWER_PASSWORD, FLOWER_USER, ops_env

USER, PASSWORD = FLOWER_USER, FLOWER_PASSWORD


def test_flower_refuses_to_start_without_credentials() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "workers.flower"], env=ops_env(), capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "RESTYLE_FLOWER_BASIC_AUTH" in result.stderr


def test_malformed_credentials_are_refused_without_echoing_them() -> None:
    env = ops_env(RESTYLE_FLOWER_BASIC_AUTH="just-a-password-123")
    result = subprocess.run(
        [sys.executable, "-m", "workers.flower"], env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "RESTYLE_FLOWER_BASIC_AUTH" in result.stderr
    assert "just-a-password-123" not in result.stderr


def test_running_open_needs_the_explicit_flag_and_then_passes_no_auth() -> None:
    launch = flower_launch(FlowerOptions(no_auth=True, basic_auth=None))
    assert launch.env == {}
    assert not any("auth" in arg for arg in launch.argv)


def test_credentials_travel_in_the_environment_not_the_command_line() -> None:
    options = FlowerOptions(basic_auth=f"{USER}:{PASSWORD},b:c", address="10.0.0.5", port=5601)
    launch = flower_launch(options)
    assert launch.env == {"FLOWER_BASIC_AUTH": f"{USER}:{PASSWORD},b:c"}
    assert PASSWORD not in " ".join(launch.argv)
    assert "--address=10.0.0.5" in launch.argv and "--port=5601" in launch.argv
    assert "--read_only=true" in launch.argv
    assert PASSWORD not in repr(options)


def test_the_dashboard_and_api_answer_401_without_credentials(flower: Service) -> None:
    for path in ("/", "/api/workers", "/api/tasks"):
        assert httpx.get(flower.url + path).status_code == 401


def test_the_dashboard_and_api_answer_with_credentials(flower: Service) -> None:
    auth = (USER, PASSWORD)
    assert httpx.get(flower.url + "/", auth=auth).status_code == 200
    assert httpx.get(flower.url + "/api/tasks", auth=auth).status_code == 200
    assert httpx.get(flower.url + "/", auth=(USER, "wrong")).status_code == 401


def test_metrics_are_served_without_credentials_as_documented(flower: Service) -> None:
    response = httpx.get(flower.url + "/metrics")
    assert response.status_code == 200
    assert "flower_" in response.text


def test_the_password_is_not_on_flowers_command_line(flower: Service) -> None:
    assert flower.process is not None
    cmdline = Path(f"/proc/{flower.process.pid}/cmdline").read_bytes().decode()
    assert "flower" in cmdline
    assert PASSWORD not in cmdline
