"""A known API key fed through a failing task never shows in logs, broker messages or Flower."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from celery import Celery

from devstack import Service, wait_for
from devstack.stack import dev_key

from .support import FLOWER_PASSWORD, FLOWER_USER, ops_env

KEY = dev_key("runway", 7)
JOB_ID = "c0ffee" * 4
QUEUE = "ops-secrets"


@pytest.fixture
def failed_task(
    redis_server: Service, redis_client: redis.Redis, flower: Service, tmp_path: Path
) -> Iterator[tuple[str, list[bytes], Path]]:
    """Publish one failing task, keep its raw broker message, run a real worker on it."""
    publisher = Celery("ops-publisher", broker=redis_server.url, set_as_current=False)
    task_id = publisher.send_task("restyle.ops_fail", args=[JOB_ID], queue=QUEUE).id
    publisher.close()
    raw_messages = redis_client.lrange(QUEUE, 0, -1)
    env = ops_env(
        RESTYLE_REDIS_URL=redis_server.url,
        RESTYLE_RUNWAY__API_KEYS=KEY,
        RESTYLE_LOG_FORMAT="json",
        # Printed before logging is set up, and only as root (containers run as a user).
        PYTHONWARNINGS="ignore:You're running the worker with superuser privileges",
    )
    argv = [sys.executable, "-m", "celery", "-A", "ops_app", "-q", "worker", "-Q", QUEUE,
            "-c", "1", "-n", "ops-secrets@%h", "--without-gossip", "--without-mingle"]  # fmt: skip
    log = tmp_path / "worker.log"
    worker = Service("worker", "", 0, argv, env, log).start()
    try:
        wait_for(lambda: _flower_state(flower, task_id) == "FAILURE", 60, "the failed task")
        wait_for(lambda: "ops_app" in log.read_text(), 10, "the worker's log")
    finally:
        worker.stop()
    yield task_id, raw_messages, log


def _flower_state(flower: Service, task_id: str) -> str | None:
    answer = httpx.get(f"{flower.url}/api/tasks", auth=(FLOWER_USER, FLOWER_PASSWORD))
    state: str | None = answer.json().get(task_id, {}).get("state")
    return state


@pytest.mark.slow
def test_the_broker_message_carries_the_job_id_and_no_key(
    failed_task: tuple[str, list[bytes], Path],
) -> None:
    _, raw_messages, _ = failed_task
    (message,) = raw_messages
    assert JOB_ID.encode() in message or JOB_ID in json.loads(message)["headers"]["argsrepr"]
    assert KEY.encode() not in message


@pytest.mark.slow
def test_every_worker_log_line_is_json_without_the_key(
    failed_task: tuple[str, list[bytes], Path],
) -> None:
    _, _, log = failed_task
    text = log.read_text()
    assert KEY not in text
    # Celery's signal handlers write "worker: Warm shutdown" straight to stderr, not via logging.
    raw_lines = [line for line in text.splitlines() if not line.startswith("worker: ")]
    lines = [json.loads(line) for line in raw_lines if line.strip()]
    warning = next(line for line in lines if line["logger"] == "ops_app")
    assert warning["job_id"] == JOB_ID
    assert warning["task"] == "restyle.ops_fail"
    assert (warning["provider"], warning["batch"]) == ("runway", "ops")
    assert "Authorization: Bearer [key:" in warning["message"]
    failure = next(line for line in lines if "exception" in line)
    assert "RuntimeError: 401 Unauthorized for key [key:" in failure["exception"]


@pytest.mark.slow
def test_flowers_answers_about_the_failure_do_not_contain_the_key(
    failed_task: tuple[str, list[bytes], Path], flower: Service
) -> None:
    task_id, _, _ = failed_task
    auth = (FLOWER_USER, FLOWER_PASSWORD)
    info = httpx.get(f"{flower.url}/api/task/info/{task_id}", auth=auth)
    listing = httpx.get(f"{flower.url}/api/tasks", auth=auth)
    page = httpx.get(f"{flower.url}/task/{task_id}", auth=auth)
    assert "401 Unauthorized for key" in info.json()["exception"]
    assert JOB_ID in info.json()["args"]
    for answer in (info, listing, page):
        assert answer.status_code == 200
        assert KEY not in answer.text
