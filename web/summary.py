"""A batch's summary for the batches page, its live updates and the API: its items (clips and
single jobs), segments and jobs counted by `producer.tally` (as `restyle status` counts them),
money, throughput and ETA in items, the provider mix and the failures by kind."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jobs.batches import BatchStore
from jobs.budget import Budget
from jobs.clips.record import Clip
from jobs.clips.store import ClipStore
from jobs.ledger import Ledger
from jobs.states import JobState
from producer.tally import Tally, tally
from web.index import JobIndex, Row
from web.items import Item, items_of

FAILED_STATES = frozenset({JobState.FAILED, JobState.EXPIRED})


def mix(rows: list[Row]) -> dict[str, Any]:
    """Provider mix, failures by kind and payments of ``rows``."""
    failures = Counter(row.failure_kind or "unknown" for row in rows if row.state in FAILED_STATES)
    return {
        "providers": dict(sorted(Counter(row.provider for row in rows).items())),
        "failures": dict(sorted(failures.items())),
        "paid": sum(row.paid for row in rows),
    }


@dataclass(frozen=True)
class Counted:
    """A batch's clips, items and numbers at one moment of the index and the clip records."""

    key: tuple[object, ...]
    clips: list[Clip]
    items: list[Item]
    tally: Tally
    mix: dict[str, Any]


@dataclass
class Summaries:
    """Summaries of every batch; remembers the first look at each for throughput and ETA."""

    ledger: Ledger
    index: JobIndex
    clock: Callable[[], float] = time.monotonic
    _first: dict[str, tuple[float, int]] = field(default_factory=dict)
    _counted: dict[str, Counted] = field(default_factory=dict)

    def names(self) -> list[str]:
        """Every batch with a record or with jobs, newest first (by creation time)."""
        return [name for name, _ in self.created()]

    def created(self) -> list[tuple[str, datetime | None]]:
        """Every batch and when it was created (None: no record), newest first."""
        records = {
            record.name: record.created_at for record in BatchStore(self.ledger.client).list()
        }
        for name in self.ledger.batches():
            records.setdefault(name, None)  # type: ignore[arg-type]
        return sorted(records.items(),
                      key=lambda pair: (pair[1] is not None, pair[1] and pair[1].timestamp(),
                                        pair[0]),
                      reverse=True)  # fmt: skip

    def all(self) -> list[dict[str, Any]]:
        """The summary of every batch, newest first."""
        return [self.one(name, created) for name, created in self.created()]

    def clips(self, batch: str) -> list[Clip]:
        """``batch``'s clip records."""
        return self.counted(batch).clips

    def counted(self, batch: str) -> Counted:
        """``batch``'s items and numbers, counted again only when a job or a clip changed."""
        rows = self.index.rows(batch)
        store = ClipStore(self.ledger.client)
        ids = store.batch_ids(batch)
        key = (
            self.index.generation(batch),
            len(rows),
            tuple(zip(ids, store.versions(ids), strict=True)),
        )
        cached = self._counted.get(batch)
        if cached is not None and cached.key == key:
            return cached
        clips = store.get_many(ids)
        found = Counted(key, clips, items_of(clips, rows), tally(clips, rows), mix(rows))
        self._counted[batch] = found
        return found

    def one(self, batch: str, created: datetime | None = None) -> dict[str, Any]:
        """``batch``'s summary, JSON-ready."""
        view = self.counted(batch)
        counted = view.tally
        now = self.clock()
        first_at, first_done = self._first.setdefault(batch, (now, counted.items_finished))
        elapsed = now - first_at
        rate = (counted.items_finished - first_done) / elapsed if elapsed > 0 else 0.0
        left = counted.items - counted.items_finished
        money = Budget(self.ledger.client).status(batch)
        if created is None:
            record = BatchStore(self.ledger.client).get(batch)
            created = record.created_at if record else None
        return {
            "batch": batch,
            "created_at": created.isoformat(timespec="seconds") if created else None,
            **counted.as_dict(),
            "finished": counted.items_finished,
            "states": counted.jobs_by_state,
            "spent_usd": round(money.spent_usd, 4),
            "billed_usd": round(money.billed_usd, 4),
            "ceiling_usd": round(money.ceiling_usd, 4),
            "reserved_usd": round(money.reserved_usd, 4),
            "budget_usd": money.limit_usd,
            "items_per_min": round(rate * 60, 2),
            "eta_s": round(left / rate, 1) if rate > 0 and left else None,
            **view.mix,
        }
