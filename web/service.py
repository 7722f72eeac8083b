"""What every route of ``restyle web`` shares: settings, Redis, the ledger, the job index, and
(built on first use) the pipeline context and the Celery app that actions publish with."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import redis

from config.redaction import Redactor
from config.redis import redis_client
from config.settings import Settings
from jobs.ledger import Ledger
from jobs.models import Job
from pipeline.context import Context
from web.csrf import Csrf
from web.index import JobIndex
from web.summary import Summaries

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

FRAME_CACHE = 512

Dispatch = Callable[[Sequence[Job]], None]
"""Publishes the first step of each job (``tasks.messages.dispatch_jobs`` on our app)."""
WakePoll = Callable[[str], None]
"""Publishes one poll of a job, now."""


@dataclass
class Service:
    """Per-process handles of the web app."""

    settings: Settings
    redis: redis.Redis[bytes]
    ledger: Ledger
    index: JobIndex
    summaries: Summaries
    csrf: Csrf
    dispatch: Dispatch | None = None
    wake_poll: WakePoll | None = None
    _ctx: Context | None = None
    _frames: OrderedDict[tuple[str, ...], bytes] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_settings(
        cls, settings: Settings, dispatch: Dispatch | None = None, wake_poll: WakePoll | None = None
    ) -> Service:
        client = redis_client(settings)
        ledger = Ledger.from_settings(settings, client)
        index = JobIndex(client)
        return cls(
            settings=settings,
            redis=client,
            ledger=ledger,
            index=index,
            summaries=Summaries(ledger, index),
            csrf=Csrf(settings.web.csrf_secret),
            dispatch=dispatch,
            wake_poll=wake_poll,
        )

    def shown_jobs(self, ids: Sequence[str]) -> list[Job]:
        """The jobs ``ids`` as pages show them: provider texts scrubbed of every key again."""
        scrub = Redactor.from_settings(self.settings)
        return [job.redacted(scrub) for job in self.ledger.get_many(list(ids))]

    def context(self) -> Context:
        """The pipeline context the CLI's cancel uses (built once)."""
        with self._lock:
            if self._ctx is None:
                self._ctx = Context.from_settings(self.settings)
            return self._ctx

    @property
    def s3(self) -> S3Client:
        return self.context().s3

    def publish(self, jobs: Sequence[Job]) -> None:
        """Send the first step of ``jobs`` to the workers."""
        if self.dispatch is None:
            self.dispatch, self.wake_poll = celery_publishers(self.settings)
        self.dispatch(jobs)

    def poll_now(self, job_id: str) -> None:
        """Send one poll of ``job_id`` to the workers, at once."""
        if self.wake_poll is None:
            self.dispatch, self.wake_poll = celery_publishers(self.settings)
        self.wake_poll(job_id)

    def frame(self, key: tuple[str, ...], take: Callable[[], bytes]) -> bytes:
        """A PNG from the cache, or taken now and kept (least recently used go first)."""
        with self._lock:
            cached = self._frames.get(key)
            if cached is not None:
                self._frames.move_to_end(key)
                return cached
        png = take()
        with self._lock:
            self._frames[key] = png
            while len(self._frames) > FRAME_CACHE:
                self._frames.popitem(last=False)
        return png


def celery_publishers(settings: Settings) -> tuple[Dispatch, WakePoll]:
    """Publishers on a Celery app built from ``settings``: the CLI's `Outbox`."""
    from workers.factory import outbox

    send = outbox(settings)

    def dispatch(jobs: Sequence[Job]) -> None:
        send.jobs(jobs)

    def wake(job_id: str) -> None:
        send.app.send_task("restyle.poll", args=[job_id])

    return dispatch, wake
