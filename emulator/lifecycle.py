"""Drives remote jobs on the event loop: slot taking, timers, fetch + render, finishing, cancel.

A job becomes due ``duration_s`` after it gets a slot; it finishes when it is due *and* its
output is ready (fetched and rendered in the process pool), so SUCCEEDED always has a file.
Finishing frees the slot for the next THROTTLED job of the same key.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable

import httpx

from config.catalogue import CATALOGUE
from emulator.config import Drift
from emulator.drift import look_for
from emulator.fetch import FetchError, fetch_video
from emulator.jobs import Cause, Phase, RemoteJob, phase_at
from emulator.pool import RenderPool
from emulator.render import RenderError, seconds_of
from emulator.store import JobStore

log = logging.getLogger("emulator.lifecycle")
FETCH_CONCURRENCY = 32


class Lifecycle:
    """Starts, finishes and cancels jobs kept in a `JobStore`."""

    def __init__(
        self,
        store: JobStore,
        pool: RenderPool,
        client: httpx.AsyncClient,
        on_finish: Callable[[RemoteJob], None],
        fetch_timeout_s: Callable[[], float],
        clock: Callable[[], float] = time.time,
        drift: Callable[[], Drift] = Drift,
    ) -> None:
        self.store = store
        self.pool = pool
        self.client = client
        self.on_finish = on_finish
        self.clock = clock
        self.fetch_timeout_s = fetch_timeout_s
        self.drift = drift
        self._fetches = asyncio.Semaphore(FETCH_CONCURRENCY)

    def launch(self, job: RemoteJob, now: float, limit: int | None) -> None:
        """Keep ``job``, start preparing its output, and start it or make it wait for a slot."""
        self.store.add(job)
        if job.fate is None:
            job.task = asyncio.get_running_loop().create_task(self._prepare(job))
        else:
            job.prepared = True
        if limit is None or self.store.active_count(job.slot) < limit:
            self._start(job, now)
        else:
            self.store.enqueue(job)

    def _start(self, job: RemoteJob, now: float) -> None:
        job.started_at = now
        self.store.occupy(job)
        job.timer = asyncio.get_running_loop().call_later(job.duration_s, self._due, job)

    def _due(self, job: RemoteJob) -> None:
        job.timer = None
        job.due = True
        if job.prepared and job.final is None:
            self._finish(job)

    async def _prepare(self, job: RemoteJob) -> None:
        try:
            async with self._fetches:
                limit = CATALOGUE[job.provider].limits.max_bytes
                timeout = self.fetch_timeout_s()
                source = await fetch_video(job.spec.video_url, self.client, limit, timeout)
            job.source_seconds = seconds_of(source)
            window = CATALOGUE[job.provider].window
            spec = job.spec
            digest = hashlib.sha256(source).hexdigest()
            look = look_for(self.drift(), digest, spec.prompt, spec.seed, spec.anchors)
            job.output = await self.pool.render(
                source, spec.prompt, spec.ratio, window, job.defect, look
            )
            job.output_seconds = seconds_of(job.output)
        except (FetchError, RenderError) as exc:
            job.cause, job.message = Cause.ASSET, str(exc)
        except Exception:
            log.exception("preparing job %s failed", job.id)
            job.cause, job.message = Cause.GENERATION, "Internal error while generating."
        job.prepared = True
        job.task = None
        if job.due and job.final is None:
            self._finish(job)

    def _finish(self, job: RemoteJob) -> None:
        if job.fate is not None:
            job.cause = job.fate
        self._close(job, Phase.FAILED if job.cause is not None else Phase.SUCCEEDED)
        self.on_finish(job)

    def _close(self, job: RemoteJob, final: Phase) -> None:
        now = self.clock()
        job.final, job.finished_at = final, now
        job.done.set()
        following = self.store.vacate(job)
        if following is not None:
            self._start(following, now)

    def cancel(self, job: RemoteJob) -> bool:
        """Cancel a live job (True) or delete a finished one (False)."""
        if job.final is not None:
            self.store.remove(job)
            return False
        for handle in (job.timer, job.task):
            if handle is not None:
                handle.cancel()
        job.timer = job.task = None
        job.cancelled_in = phase_at(job, self.clock())
        self._close(job, Phase.CANCELLED)
        return True

    def drop_all(self) -> None:
        """Cancel every timer and render wait and forget every job."""
        for job in self.store:
            for handle in (job.timer, job.task):
                if handle is not None:
                    handle.cancel()
            job.done.set()
        self.store.clear()
