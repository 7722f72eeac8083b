"""A private cluster per test: its own Redis database (broker and ledger), real workers, and the
session's emulator as the witness of what a provider would have seen from one API key."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import boto3
import httpx
import pytest
import redis
from celery import Celery
from pydantic import SecretStr

from config.settings import ProviderName, Settings, key_id
from devstack import Service, Stack
from devstack.stack import dev_key
from emulator.client import EmulatorAdmin
from jobs.ledger import Ledger
from jobs.models import Job, Priority
from jobs.states import JobState
from media.samples import make_clip
from tasks.messages import dispatch_jobs
from tests.pipeline.conftest import FAST_ENV, make_job, wait_until

PROVIDER = ProviderName.AIMLAPI
"""One GET per poll and a 429 (not a queue) past the key's concurrency: a clean witness."""
KEY = dev_key(PROVIDER)
KEY_ID = key_id(SecretStr(KEY))
_databases = itertools.cycle(range(1, 16))


def provider_env(**values: str) -> dict[str, str]:
    """``RESTYLE_AIMLAPI__<NAME>`` variables from lower-case names."""
    return {f"RESTYLE_{PROVIDER.value.upper()}__{name.upper()}": v for name, v in values.items()}


@dataclass
class Cluster:
    """Workers sharing one Redis database, the jobs they run, and the emulator's view of them."""

    stack: Stack
    env: dict[str, str]
    admin: EmulatorAdmin
    source_url: str
    settings: Settings
    workers: list[Service] = field(default_factory=list)

    @cached_property
    def ledger(self) -> Ledger:
        return Ledger(redis.Redis.from_url(self.settings.redis_url))

    @cached_property
    def celery(self) -> Celery:
        from workers.factory import create_app

        return create_app(self.settings)

    def start_workers(self, count: int, concurrency: int) -> list[Service]:
        """Start ``count`` workers at once (all queues) and wait until each is ready."""
        names = [f"et{uuid.uuid4().hex[:6]}" for _ in range(count)]
        with ThreadPoolExecutor(count) as pool:
            started = list(pool.map(lambda n: self.stack.start_worker(
                concurrency=concurrency, name=n, env=self.env), names))  # fmt: skip
        self.workers.extend(started)
        return started

    def jobs(self, batch: str, count: int, priority: Priority = Priority.BULK) -> list[Job]:
        """``count`` queued jobs of ``batch`` on the witness provider, stored in the ledger."""
        made = [
            make_job(self.settings, batch, f"clip-{n:04d}", PROVIDER, self.source_url)
            for n in range(count)
        ]
        made = [job.model_copy(update={"priority": priority}) for job in made]
        assert all(self.ledger.add(made))
        return made

    def dispatch(self, jobs: list[Job]) -> None:
        dispatch_jobs(self.celery, jobs)

    def states(self, jobs: list[Job]) -> list[JobState]:
        return [job.state for job in self.ledger.get_many([job.id for job in jobs])]

    def count(self, jobs: list[Job], state: JobState) -> int:
        return sum(1 for found in self.states(jobs) if found is state)

    def wait_stored(self, jobs: list[Job], timeout_s: float) -> None:
        """Wait until every job is STORED; fail early on any other end."""

        def done() -> bool:
            states = self.states(jobs)
            ended = [s for s in states if s.terminal and s is not JobState.STORED]
            assert not ended, f"jobs ended badly: {ended}"
            return all(s is JobState.STORED for s in states)

        wait_until(done, timeout_s, lambda: str(sorted(self.states(jobs))))

    def stats(self) -> dict[str, Any]:
        return self.admin.stats()

    def key_seconds(self) -> dict[int, int]:
        """Requests the emulator saw from the witness key, per unix second."""
        raw = self.stats()["requests_per_second"].get(PROVIDER.value, {}).get(KEY_ID, {})
        return {int(second): count for second, count in raw.items()}

    def paid_once_each(self, jobs: list[Job]) -> bool:
        paid = self.stats()["submissions"]["by_idempotency_key"]
        found = self.ledger.get_many([job.id for job in jobs])
        return all(paid.get(job.client_request_id or "") == 1 for job in found)

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
            if worker in self.stack.workers:
                self.stack.workers.remove(worker)
        self.workers.clear()


@pytest.fixture(scope="module")
def source_url(
    session_stack: Stack, s3_server: Service, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A real H.264 clip in moto S3, reachable by the emulator over plain HTTP."""
    path = make_clip(tmp_path_factory.mktemp("clips") / "source.mp4", seconds=1.0)
    client = boto3.client("s3", endpoint_url=s3_server.url, region_name="us-east-1")
    bucket = f"etiquette-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    client.upload_file(str(path), bucket, "source.mp4", ExtraArgs={"ContentType": "video/mp4"})
    url: str = client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "source.mp4"}, ExpiresIn=3600
    )
    return url


@pytest.fixture
def make_cluster(
    session_stack: Stack,
    redis_server: Service,
    s3_server: Service,
    emulator: httpx.Client,
    source_url: str,
) -> Iterator[Callable[..., Cluster]]:
    """``make_cluster(**env)``: a cluster on a fresh Redis database with ``env`` for its workers."""
    made: list[Cluster] = []

    def build(**extra: str) -> Cluster:
        url = redis_server.url.rsplit("/", 1)[0] + f"/{next(_databases)}"
        redis.Redis.from_url(url).flushdb()
        env = session_stack.env(**{**FAST_ENV, "RESTYLE_REDIS_URL": url, **extra})
        with pytest.MonkeyPatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            settings = Settings()
        cluster = Cluster(session_stack, env, EmulatorAdmin(emulator), source_url, settings)
        made.append(cluster)
        return cluster

    yield build
    for cluster in made:
        cluster.stop()
        redis.Redis.from_url(cluster.settings.redis_url).flushdb()


def unique_batch(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def seconds_since(start: float) -> float:
    return time.monotonic() - start
