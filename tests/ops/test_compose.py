"""The deployment files: docker-compose.yml validates, and every command names code that exists.

There is no Docker engine here: ``docker-compose config`` (Debian's package) validates and
renders the file with .env.example, and the rendered commands are checked against this repo.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import shutil
import subprocess
import tomllib
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from redbeat import RedBeatScheduler

from config.settings import ProviderName, ProviderSettings, SeamSettings, Settings, WebSettings
from workers.celery_config import QUEUES
from workers.flower import FlowerOptions

from .lock import runtime_closure
from .support import REPO

SERVICES = {
    "redis", "minio", "createbuckets", "emulator", "worker-submit", "worker-poll",
    "worker-archive", "worker-batch", "worker-media", "beat", "flower", "web",
}  # fmt: skip
SENTINEL_PROFILE = {"redis-replica", "sentinel-1", "sentinel-2", "sentinel-3"}
"""Debian's docker-compose 1.x ignores --profile and renders these too."""


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip(
            "docker-compose is not installed: apt-get install -y --no-install-recommends "
            "docker-compose (.ci/run does this)"
        )
    result = subprocess.run(
        [binary, "--env-file", ".env.example", "--profile", "minio", "--profile", "emulator",
         "config"],
        cwd=REPO, env={"RESTYLE_ENV_FILE": ".env.example", "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rendered: dict[str, Any] = yaml.safe_load(result.stdout)
    return rendered


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def ours(compose: dict[str, Any]) -> dict[str, list[str]]:
    """The commands of services built from this repo's Dockerfile."""
    return {name: s["command"] for name, s in services(compose).items() if "build" in s}


def option(command: list[str], flag: str) -> str | None:
    return command[command.index(flag) + 1] if flag in command else None


def module_exists(name: str) -> bool:
    spec = importlib.util.find_spec(name)
    if spec is None:
        return False
    if spec.submodule_search_locations is not None:  # a package run with -m needs __main__
        return importlib.util.find_spec(f"{name}.__main__") is not None
    return True


def test_compose_validates_with_the_example_environment(compose: dict[str, Any]) -> None:
    assert set(services(compose)) - SENTINEL_PROFILE == SERVICES


def test_every_python_service_command_names_a_module_that_exists(compose: dict[str, Any]) -> None:
    for name, command in ours(compose).items():
        if command[0] == "celery":
            app = option(command, "-A")
            assert app is not None, name
            assert importlib.util.find_spec(app.split(":")[0]) is not None, (name, app)
        elif command[:2] == ["python", "-m"]:
            assert module_exists(command[2]), (name, command[2])
        else:
            pytest.fail(f"{name}: unexpected command {command}")


def test_beat_uses_redbeat_and_the_scheduler_class_exists(compose: dict[str, Any]) -> None:
    scheduler = option(ours(compose)["beat"], "-S")
    assert scheduler == "workers.beat_scheduler.OutageTolerantScheduler"
    module, _, attribute = scheduler.rpartition(".")
    assert issubclass(getattr(importlib.import_module(module), attribute), RedBeatScheduler)


def test_the_workers_consume_every_queue_one_service_per_role(compose: dict[str, Any]) -> None:
    consumed = {
        name: set((option(command, "-Q") or "").split(","))
        for name, command in ours(compose).items()
        if "worker" in command
    }
    assert consumed == {
        "worker-submit": {"submit", "submit.interactive"},
        "worker-poll": {"poll"},
        "worker-archive": {"archive"},
        "worker-batch": {"batch"},
        "worker-media": {"media"},
    }
    assert set().union(*consumed.values()) == set(QUEUES)


def test_redis_keeps_an_append_only_file_and_never_evicts(compose: dict[str, Any]) -> None:
    command = services(compose)["redis"]["command"]
    assert option(command, "--appendonly") == "yes"
    assert option(command, "--maxmemory-policy") == "noeviction"
    assert any(volume.endswith(":/data") or "/data" in str(volume)
               for volume in services(compose)["redis"]["volumes"])  # fmt: skip


def test_published_ports_listen_on_loopback_only(compose: dict[str, Any]) -> None:
    for name, service in services(compose).items():
        for port in service.get("ports", []):
            host_ip = port.get("host_ip") if isinstance(port, dict) else str(port).split(":")[0]
            assert host_ip == "127.0.0.1", (name, port)


def test_the_emulator_is_only_in_its_profile(compose: dict[str, Any]) -> None:
    assert services(compose)["emulator"]["profiles"] == ["emulator"]
    assert services(compose)["createbuckets"]["profiles"] == ["minio"]


def test_flower_binds_inside_its_container_and_keeps_auth_from_the_env(
    compose: dict[str, Any],
) -> None:
    environment = services(compose)["flower"]["environment"]
    assert environment["RESTYLE_FLOWER_ADDRESS"] == "0.0.0.0"
    assert ":" in environment["RESTYLE_FLOWER_BASIC_AUTH"]


def test_the_example_environment_documents_every_setting() -> None:
    text = (REPO / ".env.example").read_text()
    blocks = {*(name.value for name in ProviderName), "web", "seams"}
    names = [f"RESTYLE_{field.upper()}" for field in Settings.model_fields if field not in blocks]
    names += [f"RESTYLE_SEAMS__{field.upper()}" for field in SeamSettings.model_fields]
    names += [f"RESTYLE_RUNWAY__{field.upper()}" for field in ProviderSettings.model_fields]
    names += [f"RESTYLE_WEB__{field.upper()}" for field in WebSettings.model_fields]
    names += [f"RESTYLE_FLOWER_{field.upper()}" for field in FlowerOptions.model_fields]
    missing = [name for name in names if not re.search(rf"^#? ?{name}=", text, re.MULTILINE)]
    assert missing == []


def test_the_example_environment_loads_and_holds_only_placeholders() -> None:
    path = REPO / ".env.example"
    settings = Settings(_env_file=path)
    assert settings.redis_url == "redis://redis:6379/0"
    assert FlowerOptions(_env_file=path).basic_auth is not None
    assert not re.search(r"key_[0-9a-f]{128}|SG_[0-9a-f]{16}\b", path.read_text())
    secrets = re.findall(r"^[A-Z_]*(?:SECRET|PASSWORD|AUTH)[A-Z_]*=(.*)$", path.read_text(), re.M)
    assert secrets and all("change-me" in value for value in secrets)


def test_the_image_is_slim_runs_as_a_user_and_installs_from_the_lock() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.M)
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and not users[-1].startswith(("root", "0"))
    assert "-r requirements.lock" in dockerfile


def test_the_lock_pins_every_runtime_dependency_within_pyproject_ranges() -> None:
    pins = dict(
        line.split("==", 1)
        for line in (REPO / "requirements.lock").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert set(runtime_closure()) <= set(pins)
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    for raw in project["dependencies"]:
        requirement = Requirement(raw)
        pinned = pins[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(pinned), (raw, pinned)


def test_the_build_context_leaves_out_secrets_and_tests() -> None:
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    assert ".env" in ignored and "tests" in ignored and ".venv" in ignored
    for package in ("config", "workers", "cli", "emulator", "tasks", "pipeline"):
        assert package not in ignored
