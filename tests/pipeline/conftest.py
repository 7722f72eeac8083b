"""Real worker processes against the session's Redis, moto S3 and emulator."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
import redis

from config.catalogue import provider_spec
from config.settings import ProviderName, Settings
from devstack import Service, Stack
from jobs.ledger import Ledger
from jobs.models import Job, Priority, job_id_for
from jobs.request import EditRequest
from jobs.states import JobState
from media.samples import make_clip
from tasks.messages import dispatch_jobs

FAST_ENV = {
    "RESTYLE_POLL_MAX_INTERVAL_S": "1",
    "RESTYLE_HTTP_READ_TIMEOUT_S": "5",
    "RESTYLE_HTTP_SUBMIT_READ_TIMEOUT_S": "10",
    "RESTYLE_JOB_DEADLINE_S": "120",
    "RESTYLE_ARCHIVE_STALL_S": "10",
    **{f"RESTYLE_{name.value.upper()}__TYPICAL_DURATION_S": "1" for name in ProviderName},
}


@pytest.fixture(scope="module")
def worker_env() -> dict[str, str]:
    return dict(FAST_ENV)


@pytest.fixture(scope="module")
def services(
    session_stack: Stack, redis_server: Service, s3_server: Service, emulator_server: Service
) -> Iterator[Stack]:
    """The session's Redis, S3 and emulator; workers started on it are stopped after the module."""
    yield session_stack
    for worker in list(session_stack.workers):
        worker.stop()
    session_stack.workers.clear()


@pytest.fixture(scope="module")
def pipeline_stack(services: Stack, worker_env: dict[str, str]) -> Stack:
    """The services plus one worker of concurrency 4 for the module."""
    services.start_worker(concurrency=4, name=f"pipe{uuid.uuid4().hex[:6]}", env=worker_env)
    return services


@pytest.fixture
def worker_settings(services: Stack, worker_env: dict[str, str]) -> Settings:
    """The settings the workers run with, for reading what they wrote."""
    env = services.env(**worker_env)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        return Settings()


HEALTH_STATE = ("restyle:breaker*", "restyle:outage-waiting", "restyle:limiter:cooldown:*",
                "restyle:limiter:aimd:*")  # fmt: skip


@pytest.fixture(autouse=True)
def healthy_keys(request: pytest.FixtureRequest) -> None:
    """Every test starts with closed circuit breakers and no key cooling down: one test's
    refused key (auth, credits, maintenance, a Retry-After) would otherwise keep the next
    test's jobs, in this module or the next (Redis is the session's), away from it."""
    if "worker_settings" not in request.fixturenames:
        return
    forget_key_health(redis.Redis.from_url(request.getfixturevalue("worker_settings").redis_url))


def forget_key_health(client: redis.Redis[bytes]) -> None:
    """Close every circuit and end every cooldown: what a refused or throttled key left."""
    names = [name for pattern in HEALTH_STATE for name in client.scan_iter(pattern)]
    if names:
        client.delete(*names)


@pytest.fixture
def celery_app(worker_settings: Settings):
    """A producer-side Celery app on the workers' broker."""
    from workers.factory import create_app

    return create_app(worker_settings)


@pytest.fixture
def ledger(worker_settings: Settings) -> Ledger:
    return Ledger(redis.Redis.from_url(worker_settings.redis_url))


@pytest.fixture
def s3(worker_settings: Settings):
    return boto3.client("s3", endpoint_url=worker_settings.s3_endpoint_url, region_name="us-east-1")


@pytest.fixture(scope="module")
def source_url(source_object: str, services: Stack) -> str:
    """A presigned URL of `source_object`, reachable by the emulator over plain HTTP."""
    assert services.s3 is not None
    bucket, _, key = source_object.removeprefix("s3://").partition("/")
    client = boto3.client("s3", endpoint_url=services.s3.url, region_name="us-east-1")
    return client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=3600
    )


@pytest.fixture(scope="module")
def source_object(services: Stack, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real H.264 clip in moto S3, as an s3:// URI."""
    assert services.s3 is not None
    path = make_clip(tmp_path_factory.mktemp("clips") / "source.mp4", seconds=1.5)
    client = boto3.client("s3", endpoint_url=services.s3.url, region_name="us-east-1")
    bucket = f"sources-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    client.upload_file(str(path), bucket, "source.mp4", ExtraArgs={"ContentType": "video/mp4"})
    return f"s3://{bucket}/source.mp4"


def make_job(
    settings: Settings,
    batch: str,
    item: str,
    provider: ProviderName,
    video_url: str,
    prompt: str = "make it winter",
) -> Job:
    now = datetime.now(UTC)
    spec = provider_spec(provider, settings)
    return Job(
        id=job_id_for(batch, item),
        batch=batch,
        item=item,
        provider=provider,
        request=EditRequest(video_url=video_url, prompt=prompt),
        source=video_url,
        priority=Priority.BULK,
        created_at=now,
        updated_at=now,
        estimated_cost_usd=spec.price.estimate(spec.output_seconds),
    )


def wait_until(check: Callable[[], bool], timeout_s: float, describe: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout_s}s: {describe()}")


def states_of(ledger: Ledger, jobs: list[Job]) -> dict[str, JobState]:
    return {
        job.id: found.state
        for job, found in zip(jobs, ledger.get_many([j.id for j in jobs]), strict=True)
    }


def all_terminal(ledger: Ledger, jobs: list[Job]) -> Callable[[], bool]:
    return lambda: all(state.terminal for state in states_of(ledger, jobs).values())


def run_to_end(ledger: Ledger, celery_app: Any, jobs: list[Job], timeout_s: float) -> list[Job]:
    """Add ``jobs`` (each new), dispatch them, and return them once every one has ended."""
    assert all(ledger.add(jobs))
    dispatch_jobs(celery_app, jobs)
    wait_until(all_terminal(ledger, jobs), timeout_s, lambda: str(states_of(ledger, jobs)))
    return ledger.get_many([job.id for job in jobs])


def unique_batch(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def submitter(worker_settings: Settings, s3, celery_app):
    """Plan and enqueue a local source as the CLI does; return its clip (`clip_support`)."""
    from tests.pipeline.clip_support import clip_submitter

    return clip_submitter(worker_settings, s3, celery_app)
