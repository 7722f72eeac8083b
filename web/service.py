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
from jobs.clips.store import ClipStore
from jobs.ledger import Ledger
from jobs.models import Job
from media.thumbnails import Shot, read_thumbnail, s3_grab, store_thumbnails
from pipeline.context import Context
from pipeline.decisions import ClipNext
from pipeline.operations.sends import Sends
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
ClipSteps = Callable[[Sequence[ClipNext]], None]
"""Publishes the media steps (cut, stitch) an operation left due."""


@dataclass
class Service:
    """Per-process handles of the web app."""

    settings: Settings
    redis: redis.Redis[bytes]
    ledger: Ledger
    clips: ClipStore
    index: JobIndex
    summaries: Summaries
    csrf: Csrf
    dispatch: Dispatch | None = None
    wake_poll: WakePoll | None = None
    clip_steps: ClipSteps | None = None
    _ctx: Context | None = None
    _frames: OrderedDict[tuple[str, ...], bytes] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        dispatch: Dispatch | None = None,
        wake_poll: WakePoll | None = None,
        clip_steps: ClipSteps | None = None,
    ) -> Service:
        client = redis_client(settings)
        ledger = Ledger.from_settings(settings, client)
        index = JobIndex(client)
        return cls(
            settings=settings,
            redis=client,
            ledger=ledger,
            clips=ClipStore(client, settings.job_record_ttl_s),
            index=index,
            summaries=Summaries(ledger, index),
            csrf=Csrf(settings.web.csrf_secret),
            dispatch=dispatch,
            wake_poll=wake_poll,
            clip_steps=clip_steps,
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
            self._publishers()
        assert self.dispatch is not None
        self.dispatch(jobs)

    def send(self, sends: Sends) -> None:
        """Send what an operation (`pipeline.operations`) left to send."""
        if sends.jobs:
            self.publish(sends.jobs)
        if sends.clip_steps:
            if self.clip_steps is None:
                self._publishers()
            assert self.clip_steps is not None
            self.clip_steps(sends.clip_steps)

    def _publishers(self) -> None:
        """Fill in the publishers not given, on one Celery app built from the settings."""
        dispatch, wake_poll, clip_steps = celery_publishers(self.settings)
        self.dispatch = self.dispatch or dispatch
        self.wake_poll = self.wake_poll or wake_poll
        self.clip_steps = self.clip_steps or clip_steps

    def poll_now(self, job_id: str) -> None:
        """Send one poll of ``job_id`` to the workers, at once."""
        if self.wake_poll is None:
            self._publishers()
        assert self.wake_poll is not None
        self.wake_poll(job_id)

    def thumbnail(self, output_uri: str | None, shot: Shot, version: str) -> bytes:
        """The frame ``shot`` of an output: the one stored beside it at archive or stitch time;
        else (an output stored before thumbnails, or none yet) taken now, cached and stored."""

        def take() -> bytes:
            if output_uri is not None:
                stored = read_thumbnail(self.s3, output_uri, shot.name)
                if stored is not None:
                    return stored
            png = s3_grab(self.s3, http=self.context().http)(shot.location, shot.at_s)
            if output_uri is not None:
                store_thumbnails(self.s3, output_uri, [shot], lambda _where, _at: png)
            return png

        return self.frame((output_uri or "", shot.name, shot.location, version), take)

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


def celery_publishers(settings: Settings) -> tuple[Dispatch, WakePoll, ClipSteps]:
    """Publishers on a Celery app built from ``settings``: the CLI's `Outbox`."""
    from workers.factory import outbox

    send = outbox(settings)

    def dispatch(jobs: Sequence[Job]) -> None:
        send.jobs(jobs)

    def wake(job_id: str) -> None:
        send.app.send_task("restyle.poll", args=[job_id])

    return dispatch, wake, send.clip_steps
