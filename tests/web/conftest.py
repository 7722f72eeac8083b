"""A real uvicorn serving ``restyle web`` on a free port, over the session's Redis and S3."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn

from config.settings import ProviderName, Settings, WebSettings
from devstack import free_port, wait_for
from jobs.models import Job, job_id_for
from jobs.request import EditRequest
from tests.pipeline.conftest import (  # noqa: F401  (the live stack of the browser test)
    celery_app,
    pipeline_stack,
    services,
    source_object,
    source_url,
    worker_env,
    worker_settings,
)
from web.app import create_web_app

USER, PASSWORD = "ann", "correct-horse-battery"
TOKEN = "bearer-token-for-tests-0123456789"


@dataclass
class Published:
    """What the app sent to the workers (these tests run no worker)."""

    dispatched: list[str] = field(default_factory=list)
    polls: list[str] = field(default_factory=list)

    def dispatch(self, jobs: Sequence[Job]) -> None:
        self.dispatched.extend(job.id for job in jobs)

    def poll(self, job_id: str) -> None:
        self.polls.append(job_id)


@dataclass
class Served:
    url: str
    published: Published
    settings: Settings

    def client(self, auth: bool = True) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=(USER, PASSWORD) if auth else None, timeout=30)


def web_settings(settings: Settings, **web: object) -> Settings:
    block = WebSettings(users=[f"{USER}:{PASSWORD}"], tokens=[TOKEN], actions=True, **web)
    return settings.model_copy(update={"web": block, "public_url": "http://127.0.0.1:9"})


def serve(
    settings: Settings, real_publishers: bool = False, port: int | None = None
) -> Iterator[Served]:
    published = Published()
    if real_publishers:
        app = create_web_app(settings)
    else:
        app = create_web_app(settings, published.dispatch, published.poll)
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: httpx.get(f"{url}/healthz").status_code == 200, 20, "restyle web")
    try:
        yield Served(url, published, settings)
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def served(settings: Settings, redis_client: object) -> Iterator[Served]:
    yield from serve(web_settings(settings))


def make_jobs(
    batch: str, count: int, source: str, prompt: str = "make it winter", **fields: object
) -> list[Job]:
    now = datetime.now(UTC)
    return [
        Job(
            id=job_id_for(batch, f"clip-{n:05d}"),
            batch=batch,
            item=f"clip-{n:05d}",
            provider=ProviderName.CRUN if n % 2 else ProviderName.RUNWAY,
            request=EditRequest(video_url=source, prompt=prompt),
            source=source,
            created_at=now,
            updated_at=now,
            estimated_cost_usd=0.5,
            **fields,
        )
        for n in range(count)
    ]


Check = Callable[[], bool]
