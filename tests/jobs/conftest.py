"""Fixtures for the ledger, budget and limiter tests: jobs to store and a clock to move."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from config.settings import ProviderName
from devstack import Service
from jobs.ledger import Ledger
from jobs.limits.limiter import Limiter
from jobs.models import Job, Priority, job_id_for
from jobs.request import EditRequest

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def make_job(batch: str = "b1", item: str = "clip-0001", **fields: object) -> Job:
    """A queued job as the producer would enqueue it."""
    values: dict[str, object] = {
        "id": job_id_for(batch, item),
        "batch": batch,
        "item": item,
        "provider": ProviderName.RUNWAY,
        "request": EditRequest(video_url=f"https://cdn.example.com/{item}.mp4", prompt="snow"),
        "source": f"s3://library/{item}.mp4",
        "priority": Priority.BULK,
        "created_at": T0,
        "updated_at": T0,
        "estimated_cost_usd": 0.75,
    }
    values.update(fields)
    return Job.model_validate(values)


def at(seconds: float) -> datetime:
    """T0 plus ``seconds``."""
    return T0 + timedelta(seconds=seconds)


class FakeClock:
    """A clock the test moves by hand (seconds since the epoch)."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def ledger(redis_client: redis.Redis[bytes]) -> Ledger:
    return Ledger(redis_client, record_ttl_s=3600)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def limiter(redis_client: redis.Redis[bytes], clock: FakeClock) -> Limiter:
    return Limiter(redis_client, clock=clock)


@pytest.fixture
def new_job() -> Callable[..., Job]:
    """Build a queued job: ``new_job(batch, item, **fields)``."""
    return make_job


@pytest.fixture
def moment() -> Callable[[float], datetime]:
    """``moment(s)``: a fixed start time plus ``s`` seconds."""
    return at


class CountingRedis(redis.Redis):
    """A real client that records the name of each command it sends (each one round trip)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[str] = []

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.sent.append(str(args[0]).upper())
        return super().execute_command(*args, **options)


@pytest.fixture
def counting_client(
    redis_server: Service, redis_client: redis.Redis[bytes]
) -> Iterator[CountingRedis]:
    """A `CountingRedis` on the private Redis (emptied first, by ``redis_client``)."""
    client = CountingRedis(connection_pool=redis.ConnectionPool.from_url(redis_server.url))
    yield client
    client.close()
