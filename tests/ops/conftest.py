"""Fixtures for the operations tests: RedBeat on the private Redis, and a real Flower."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import httpx
import pytest
from celery import Celery

from config.settings import Settings
from devstack import Service, free_port, wait_for
from workers.celery_config import celery_config

from .support import FLOWER_PASSWORD, FLOWER_USER, ops_env


@pytest.fixture
def beat_app(redis_server: Service, redis_client: object) -> Iterator[Celery]:
    """The restyle Celery configuration on the private Redis (emptied first), RedBeat included."""
    app = Celery("restyle-ops-test", set_as_current=False)
    app.conf.update(celery_config(Settings(redis_url=redis_server.url)))
    app.conf.update(
        redbeat_key_prefix="restyle:redbeat:",
        redbeat_redis_options={},
        redbeat_lock_key=None,
    )
    yield app
    app.close()


@pytest.fixture(scope="session")
def flower(redis_server: Service, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """``python -m workers.flower`` with basic auth, monitoring tests/ops/ops_app.py."""
    port = free_port()
    env = ops_env(
        RESTYLE_REDIS_URL=redis_server.url,
        RESTYLE_FLOWER_BASIC_AUTH=f"{FLOWER_USER}:{FLOWER_PASSWORD}",
        RESTYLE_FLOWER_PORT=str(port),
        RESTYLE_FLOWER_APP="ops_app",
    )
    log = tmp_path_factory.mktemp("flower") / "flower.log"
    argv = [sys.executable, "-m", "workers.flower"]
    service = Service("flower", f"http://127.0.0.1:{port}", port, argv, env, log).start()
    try:
        wait_for(lambda: httpx.get(f"{service.url}/healthcheck").status_code == 200, 60, "flower")
    except TimeoutError:
        service.kill()
        pytest.fail(f"flower did not start:\n{service.log_tail()}")
    yield service
    service.stop()
