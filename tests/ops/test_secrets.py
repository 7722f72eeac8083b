"""A known API key never shows where restyle keeps or shows text.

Fed through a failing task: not in logs, broker messages or Flower. Echoed by every provider
(the emulator's ``echo_credentials``) at submit, at poll and in a failed remote job's reason: not
in Redis (every key and value, and the append-only file), the worker's log, the process table,
``restyle job``, ``restyle status``, any report format, or S3 metadata.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import httpx
import pytest
import redis
from celery import Celery

from config.redaction import key_label
from config.settings import ProviderName, Settings
from devstack import Service, Stack, wait_for
from devstack.process import base_env
from devstack.stack import ALL_QUEUES, dev_key
from emulator.client import EmulatorAdmin
from jobs.ledger import Ledger
from jobs.models import Job
from jobs.states import JobState
from media.samples import make_clip
from tasks.messages import dispatch_jobs
from tests.pipeline.conftest import (
    FAST_ENV,
    all_terminal,
    forget_key_health,
    make_job,
    run_to_end,
    states_of,
    wait_until,
)

from .support import FLOWER_PASSWORD, FLOWER_USER, ops_env

KEY = dev_key("runway", 7)
JOB_ID = "c0ffee" * 4
QUEUE = "ops-secrets"


@pytest.fixture
def failed_task(
    redis_server: Service, redis_client: redis.Redis[bytes], flower: Service, tmp_path: Path
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


# --- A provider that echoes the caller's credential: nothing restyle keeps or shows holds it. ---

PROVIDERS = [name.value for name in ProviderName]
ECHO_ENV = {
    **FAST_ENV,
    **{f"RESTYLE_{name.upper()}__RETIRED_API_KEYS": dev_key(name, 9) for name in PROVIDERS},
}
ALL_KEYS = [dev_key(name, index) for name in PROVIDERS for index in (0, 9)]


@dataclass(frozen=True)
class EchoRun:
    """What one run against an echoing emulator left behind, surface by surface."""

    stack: Stack
    jobs: list[Job]
    env: dict[str, str]
    worker_log: Path
    aof_dir: Path
    out_dir: Path


@pytest.fixture(scope="module")
def echo_run(
    s3_server: Service, emulator_server: Service, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EchoRun]:
    """Real workers on a private Redis with AOF; every provider fails at submit, poll, remotely."""
    workdir = tmp_path_factory.mktemp("echo")
    stack = Stack(workdir, bucket="echo-outputs")
    redis_service = stack.start_redis(appendonly=True)
    stack.s3, stack.emulator = s3_server, emulator_server
    admin = EmulatorAdmin(httpx.Client(base_url=emulator_server.url, timeout=30))
    admin.reset()
    admin.configure(echo_credentials=True)
    try:
        worker = stack.start_worker(ALL_QUEUES, 4, "echo", "workers.app", ECHO_ENV)
        env = stack.env(**ECHO_ENV)
        settings = _settings_of(env)
        jobs = _fail_everywhere(admin, settings, _clip_url(s3_server, workdir))
        yield EchoRun(stack, jobs, env, worker.log_path, workdir / "redis", workdir)
    finally:
        admin.reset()
        for started in stack.workers:
            started.stop()
        redis_service.stop()


def _settings_of(env: dict[str, str]) -> Settings:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        return Settings()


def _clip_url(s3_server: Service, workdir: Path) -> str:
    """A presigned URL of a real clip in moto, for the one job that succeeds."""
    client = boto3.client("s3", endpoint_url=s3_server.url, region_name="us-east-1")
    client.create_bucket(Bucket="echo-sources")
    clip = str(make_clip(workdir / "in.mp4", seconds=2.0))
    # Runway HEADs its input and wants a video Content-Type.
    client.upload_file(clip, "echo-sources", "in.mp4", ExtraArgs={"ContentType": "video/mp4"})
    return client.generate_presigned_url(
        "get_object", Params={"Bucket": "echo-sources", "Key": "in.mp4"}, ExpiresIn=3600
    )


def _fail_everywhere(admin: EmulatorAdmin, settings: Settings, clip_url: str) -> list[Job]:
    """Three rounds of five jobs (one per provider), each round failing at a different step."""
    from workers.factory import create_app

    app = create_app(settings)
    ledger = Ledger(redis.Redis.from_url(settings.redis_url))
    source = clip_url  # a real input: Runway checks it at submit, before any poll
    done: list[Job] = []
    # At submit: the key refused. (Out of credits, a job now waits for a top-up until its
    # deadline instead of failing, so a refusal is what ends a job at submit.)
    _refuse_keys(admin)
    done += _round(app, ledger, settings, "submit", source)
    # At poll: the jobs run long, and once each is submitted its key stops being accepted.
    for name in PROVIDERS:
        admin.accept_keys(name, None)
    forget_key_health(ledger.client)  # the circuits the refused keys opened
    admin.configure(processing={"min_s": 60, "max_s": 60})
    done += _round(app, ledger, settings, "poll", source, then=lambda: _refuse_keys(admin))
    for name in PROVIDERS:
        admin.accept_keys(name, None)
    forget_key_health(ledger.client)  # the circuits the refused keys opened
    admin.configure(processing={"min_s": 0.3, "max_s": 0.3})
    # Remote: the job runs and fails moderation; its reason comes back in a normal poll answer.
    done += _round(app, ledger, settings, "remote", source, prompt="a forbidden edit")
    # One job that succeeds, so that S3 holds an object whose metadata can be read.
    stored = make_job(settings, "echo-stored", "ok", ProviderName.RUNWAY, clip_url)
    return done + run_to_end(ledger, app, [stored], timeout_s=90)


def _round(
    app: Celery,
    ledger: Ledger,
    settings: Settings,
    step: str,
    source: str,
    prompt: str = "winter",
    then: Callable[[], None] | None = None,
) -> list[Job]:
    """One job per provider in batch ``echo-<step>``; ``then`` runs once all are submitted."""
    batch = f"echo-{step}"
    jobs = [
        make_job(settings, batch, name, ProviderName(name), source, prompt) for name in PROVIDERS
    ]
    if then is None:
        return run_to_end(ledger, app, jobs, timeout_s=90)
    assert all(ledger.add(jobs))
    dispatch_jobs(app, jobs)
    submitted = {JobState.SUBMITTED}
    wait_until(lambda: set(states_of(ledger, jobs).values()) == submitted, 60, lambda: "submits")
    then()
    wait_until(all_terminal(ledger, jobs), 90, lambda: str(states_of(ledger, jobs)))
    return ledger.get_many([job.id for job in jobs])


def _refuse_keys(admin: EmulatorAdmin) -> None:
    for name in PROVIDERS:
        admin.accept_keys(name, [dev_key(name, 5)])


READERS: dict[str, Callable[[redis.Redis[bytes], bytes], object]] = {
    "string": lambda client, key: client.get(key),
    "hash": lambda client, key: client.hgetall(key),
    "list": lambda client, key: client.lrange(key, 0, -1),
    "set": lambda client, key: client.smembers(key),
    "zset": lambda client, key: client.zrange(key, 0, -1, withscores=True),
    "stream": lambda client, key: client.xrange(key),
}


def _redis_dump(url: str) -> bytes:
    """Every key and every value in Redis, whatever its type."""
    client = redis.Redis.from_url(url)
    parts: list[bytes] = []
    for key in client.scan_iter(count=1000):
        kind: bytes = client.execute_command("TYPE", key)
        value = READERS[kind.decode()](client, key)
        parts.extend([key, repr(value).encode()])
    client.close()
    return b"\n".join(parts)


def _leaks(text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    return [key[:12] + "..." for key in ALL_KEYS if key.encode() in data]


@pytest.mark.slow
def test_the_echo_reached_restyle_and_every_stored_text_names_the_key_by_its_id(
    echo_run: EchoRun,
) -> None:
    """The control: the emulator did echo, so the clean surfaces below are not empty proofs."""
    failed = [job for job in echo_run.jobs if job.batch != "echo-stored"]
    assert len(failed) == 3 * len(PROVIDERS) and {job.batch for job in failed} == {
        "echo-submit",
        "echo-poll",
        "echo-remote",
    }
    for job in failed:
        assert job.state in (JobState.FAILED, JobState.EXPIRED), (job.batch, job.provider)
        label = key_label(dev_key(job.provider))
        assert label in (job.failure_message or ""), (job.batch, job.provider, job.failure_message)
    submit_histories = [e.detail for j in failed if j.batch == "echo-submit" for e in j.events]
    assert any("[key:" in detail for detail in submit_histories)


@pytest.mark.slow
def test_redis_and_its_append_only_file_hold_no_key(echo_run: EchoRun) -> None:
    assert echo_run.stack.redis is not None
    dump = _redis_dump(echo_run.stack.redis.url)
    assert b"echo-submit" in dump and b"credential sent" in dump
    assert _leaks(dump) == []
    aof = b"".join(path.read_bytes() for path in echo_run.aof_dir.rglob("*.aof*"))
    assert b"echo-remote" in aof
    assert _leaks(aof) == []


@pytest.mark.slow
def test_the_worker_log_and_the_process_table_hold_no_key(echo_run: EchoRun) -> None:
    log = echo_run.worker_log.read_text()
    assert "credential sent" in log
    assert _leaks(log) == []
    table = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    assert _leaks(table.stdout) == []


@pytest.mark.slow
def test_restyle_job_status_and_every_report_format_show_no_key(echo_run: EchoRun) -> None:
    outputs: list[str] = []
    # Every provider's job of the submit round (its history holds the echoed 429 too), and one
    # job of each other round: the reports below show every job's failure.
    shown_jobs = [job for job in echo_run.jobs if job.batch == "echo-submit"]
    shown_jobs += [
        next(j for j in echo_run.jobs if j.batch == b) for b in ("echo-poll", "echo-remote")
    ]
    for job in shown_jobs:
        shown = _restyle(echo_run.env, "job", job.id)
        assert "[key:" in shown
        outputs.append(shown)
    for batch in ("echo-submit", "echo-poll", "echo-remote"):
        outputs.append(_restyle(echo_run.env, "status", batch))
        outputs.append(_restyle(echo_run.env, "status", batch, "--json"))
        for fmt in ("json", "csv", "html"):
            path = echo_run.out_dir / f"{batch}.{fmt}"
            _restyle(echo_run.env, "report", batch, "--format", fmt, "-o", str(path))
            report = path.read_text()
            assert "[key:" in report, (batch, fmt)
            outputs.append(report)
    assert [leak for text in outputs for leak in _leaks(text)] == []


@pytest.mark.slow
def test_s3_object_metadata_holds_no_key(echo_run: EchoRun) -> None:
    assert echo_run.stack.s3 is not None
    s3 = boto3.client("s3", endpoint_url=echo_run.stack.s3.url, region_name="us-east-1")
    texts: list[str] = []
    for bucket in s3.list_buckets()["Buckets"]:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]):
            for item in page.get("Contents", []):
                head = s3.head_object(Bucket=bucket["Name"], Key=item["Key"])
                texts.append(json.dumps(head["Metadata"]) + item["Key"])
    stored = [job for job in echo_run.jobs if job.batch == "echo-stored"]
    assert [job.state for job in stored] == [JobState.STORED]
    assert any("echo-stored" in text for text in texts)
    assert [leak for text in texts for leak in _leaks(text)] == []


def _restyle(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env=base_env({**env, "COLUMNS": "400"}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr
