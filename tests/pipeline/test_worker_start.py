"""Each worker process builds its clients as it starts, and building connects to nothing."""

from __future__ import annotations

import logging
import time
import uuid

import pytest

from config.settings import Settings, settings_from_env
from devstack import Stack, free_port, wait_for
from tasks.runtime import Runtime, context, runtime_of
from workers.factory import create_app

READY = "worker process clients ready"


def test_warm_up_builds_the_context_without_connecting_to_anything() -> None:
    nowhere = f"127.0.0.1:{free_port()}"  # nothing listens: a connection attempt would fail
    settings = settings_from_env({
        "RESTYLE_REDIS_URL": f"redis://{nowhere}/0",
        "RESTYLE_S3_ENDPOINT_URL": f"http://{nowhere}",
        "RESTYLE_RUNWAY__BASE_URL": f"http://{nowhere}/runway",
    })  # fmt: skip
    runtime = Runtime(settings)

    started = time.monotonic()
    assert runtime.warm_up()
    built = runtime.context()

    assert time.monotonic() - started < 4.0  # Celery kills a child not up within 4 s
    assert runtime.context() is built
    assert built.settings.redis_url == f"redis://{nowhere}/0"
    runtime.reset()
    assert runtime.context() is not built


def test_a_failed_warm_up_is_logged_and_left_to_the_first_task(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Settings that skipped validation (the only way a context can still fail to build).
    runtime = Runtime(Settings.model_construct(redis_url="http://not-redis"))

    assert not runtime.warm_up()

    assert [r.levelno for r in caplog.records if r.name == "tasks.runtime"] == [logging.WARNING]
    with pytest.raises(Exception, match="redis://"):
        runtime.context()


def test_each_app_has_its_own_context_and_tasks_find_the_current_app_s() -> None:
    first = create_app(Settings(redis_url="redis://127.0.0.1:1/0"))
    second = create_app(Settings(redis_url="redis://127.0.0.1:2/0"))

    assert context(first).settings.redis_url.endswith(":1/0")
    assert context(second).settings.redis_url.endswith(":2/0")
    assert context() is context(second)  # the last app built is Celery's current one
    with pytest.raises(TypeError, match="create_app"):
        runtime_of(object())


@pytest.mark.slow
def test_a_worker_builds_each_process_clients_before_its_first_task(services: Stack) -> None:
    worker = services.start_worker(concurrency=2, name=f"warm{uuid.uuid4().hex[:6]}")
    try:
        wait_for(lambda: worker.log_tail(400).count(READY) == 2, 30, "both processes' clients")
    finally:
        worker.stop()
        services.workers.remove(worker)
    assert " received" not in worker.log_tail(400)  # no task was needed for it
