"""A light, in-memory index of every job of the batches being viewed, kept fresh from Redis.

A batch is read once in full (one pipeline of HGETs, plain ``json.loads``, no model
validation); afterwards only the jobs whose state-index score (their last change) is newer than
the last refresh are read again. So a page of a 10,000-job batch filters, searches and pages in
memory, and a refresh costs one ZRANGEBYSCORE per state plus the changed records.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import redis

from jobs import redis_keys
from jobs.states import JobState
from producer.numbers import read_facts
from producer.tally import JobFacts

MIN_REFRESH_S = 0.3
CLOCK_MARGIN_S = 5.0
"""Scores are the writers' clocks: re-read a little before the last refresh."""
Row = JobFacts
"""What filtering, counting and metrics need of one job."""


@dataclass(frozen=True)
class Filters:
    """The batch page's filters; empty strings match everything."""

    state: str = ""
    provider: str = ""
    failure_kind: str = ""
    search: str = ""

    def match(self, row: Filterable) -> bool:
        """True when ``row`` passes every filter (the search is a case-blind item substring)."""
        return (
            (not self.state or str(row.state) == self.state)
            and (not self.provider or row.provider == self.provider)
            and (not self.failure_kind or row.failure_kind == self.failure_kind)
            and (not self.search or self.search.lower() in row.item.lower())
        )


class Filterable(Protocol):
    """What the filters read: a job's row or a batch page's item."""

    @property
    def state(self) -> str: ...
    @property
    def provider(self) -> str: ...
    @property
    def failure_kind(self) -> str | None: ...
    @property
    def item(self) -> str: ...


F = TypeVar("F", bound=Filterable)


@dataclass(frozen=True)
class Page(Generic[F]):
    """One page of a filtered batch."""

    rows: list[F]
    matching: int
    page: int
    pages: int


def paginate(rows: Iterable[F], filters: Filters, page: int, size: int) -> Page[F]:
    """The ``page``-th (from 1) page of ``size`` rows passing ``filters``."""
    matching = [row for row in rows if filters.match(row)]
    pages = max(1, -(-len(matching) // size))
    page = min(max(page, 1), pages)
    start = (page - 1) * size
    return Page(matching[start : start + size], len(matching), page, pages)


class JobIndex:
    """Rows of the batches asked for, by job id, refreshed at most every `MIN_REFRESH_S`."""

    def __init__(self, client: redis.Redis[bytes], clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.clock = clock
        self._batches: dict[str, dict[str, Row]] = {}
        self._sorted: dict[str, list[Row]] = {}
        self._generations: dict[str, int] = {}
        self._since: float | None = None
        self._scores: dict[str, float] = {}
        self._checked = 0.0
        self._lock = threading.Lock()

    def rows(self, batch: str) -> list[Row]:
        """Every job of ``batch``, ordered by item."""
        with self._lock:
            self._refresh()
            if batch not in self._batches:
                self._load(batch)
            cached = self._sorted.get(batch)
            if cached is None:
                found = self._batches[batch].values()
                cached = self._sorted[batch] = sorted(found, key=lambda r: (r.item, r.id))
            return cached

    def generation(self, batch: str) -> int:
        """A number that changes whenever a row of ``batch`` changes (for caches of it)."""
        with self._lock:
            return self._generations.get(batch, 0)

    def expire(self) -> None:
        """Make the next read refresh, whatever `MIN_REFRESH_S` says (after an action)."""
        with self._lock:
            self._checked = 0.0

    def _load(self, batch: str) -> None:
        started = self.clock()
        if self._since is None:
            self._since = self._checked = started
        # Note the recent changes first, so the next refresh does not read them all again;
        # a job that changes after this gets a new score and is read again.
        self._scan(self._since - CLOCK_MARGIN_S)
        ids = [item.decode() for item in self.client.smembers(redis_keys.batch_jobs(batch))]
        self._batches[batch] = {row.id: row for row in self._read(ids)}
        self._generations[batch] = self._generations.get(batch, 0) + 1

    def _read(self, ids: list[str]) -> list[Row]:
        return read_facts(self.client, ids)

    def _scan(self, floor: float) -> list[str]:
        """Ids whose state-index score since ``floor`` is one not seen before."""
        pipe = self.client.pipeline(transaction=False)
        for state in JobState:
            pipe.zrangebyscore(redis_keys.state_index(state), f"{floor}", "+inf", withscores=True)
        changed = []
        # The margin finds the same changes again: re-read a job only for a score not yet seen.
        for item, score in (pair for found in pipe.execute() for pair in found):
            job_id = item.decode()
            if self._scores.get(job_id) != score:
                self._scores[job_id] = score
                changed.append(job_id)
        return changed

    def _refresh(self) -> None:
        now = self.clock()
        if self._since is None or now - self._checked < MIN_REFRESH_S:
            return
        self._checked = now
        changed = self._scan(self._since - CLOCK_MARGIN_S)
        self._since = now
        for row in self._read(changed):
            rows = self._batches.get(row.batch)
            if rows is not None and rows.get(row.id) != row:
                rows[row.id] = row
                self._sorted.pop(row.batch, None)
                self._generations[row.batch] = self._generations.get(row.batch, 0) + 1
