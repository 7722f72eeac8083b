"""Each worker process builds its clients as it starts, and building connects to nothing."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator

import pytest

from devstack import Stack, free_port, wait_for
from tasks import runtime

READY = "worker process clients ready"


@pytest.fixture
def fresh_runtime() -> Iterator[None]:
    runtime.reset_context()
    yield
    runtime.reset_context()


def test_warm_up_builds_the_context_without_connecting_to_anything(
    monkeypatch: pytest.MonkeyPatch, fresh_runtime: None
) -> None:
    nowhere = f"127.0.0.1:{free_port()}"  # nothing listens: a connection attempt would fail
    monkeypatch.setenv("RESTYLE_REDIS_URL", f"redis://{nowhere}/0")
    monkeypatch.setenv("RESTYLE_S3_ENDPOINT_URL", f"http://{nowhere}")
    monkeypatch.setenv("RESTYLE_RUNWAY__BASE_URL", f"http://{nowhere}/runway")

    started = time.monotonic()
    assert runtime.warm_up()
    built = runtime.context()

    assert time.monotonic() - started < 4.0  # Celery kills a child not up within 4 s
    assert runtime.context() is built
    assert built.settings.redis_url == f"redis://{nowhere}/0"
    runtime.reset_context()
    assert runtime.context() is not built


def test_a_failed_warm_up_is_logged_and_left_to_the_first_task(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, fresh_runtime: None
) -> None:
    monkeypatch.setenv("RESTYLE_REDIS_URL", "http://not-redis")

    assert not runtime.warm_up()

    assert [r.levelno for r in caplog.records if r.name == "tasks.runtime"] == [logging.WARNING]
    with pytest.raises(Exception, match="RESTYLE_REDIS_URL"):
        runtime.context()


@pytest.mark.slow
def test_a_worker_builds_each_process_clients_before_its_first_task(services: Stack) -> None:
    worker = services.start_worker(concurrency=2, name=f"warm{uuid.uuid4().hex[:6]}")
    try:
        wait_for(lambda: worker.log_tail(400).count(READY) == 2, 30, "both processes' clients")
    finally:
        worker.stop()
        services.workers.remove(worker)
    assert " received" not in worker.log_tail(400)  # no task was needed for it
