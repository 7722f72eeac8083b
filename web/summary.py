"""A batch's summary for the batches page, its live updates and the API: counts by state,
money, throughput and ETA (`jobs.progress`), the provider mix and the failures by kind."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jobs.batches import BatchStore
from jobs.budget import Budget
from jobs.ledger import Ledger
from jobs.progress import Snapshot, eta_s
from jobs.states import JobState
from web.index import JobIndex, Row

FAILED_STATES = frozenset({JobState.FAILED, JobState.EXPIRED})


def mix(rows: list[Row]) -> dict[str, Any]:
    """Provider mix, failures by kind, payments and possible double charges of ``rows``."""
    failures = Counter(row.failure_kind or "unknown" for row in rows if row.state in FAILED_STATES)
    return {
        "providers": dict(sorted(Counter(row.provider for row in rows).items())),
        "failures": dict(sorted(failures.items())),
        "paid": sum(row.paid for row in rows),
        "double_charges": sum(row.double_charge for row in rows),
        "stored_bytes": sum(row.stored_bytes for row in rows),
    }


@dataclass
class Summaries:
    """Summaries of every batch; remembers the first snapshot of each for throughput/ETA."""

    ledger: Ledger
    index: JobIndex
    clock: Callable[[], float] = time.monotonic
    _first: dict[str, Snapshot] = field(default_factory=dict)

    def names(self) -> list[str]:
        """Every batch with a record or with jobs, sorted."""
        records = {record.name for record in BatchStore(self.ledger.client).list()}
        return sorted(records | set(self.ledger.batches()))

    def all(self) -> list[dict[str, Any]]:
        """The summary of every batch."""
        return [self.one(name) for name in self.names()]

    def one(self, batch: str) -> dict[str, Any]:
        """``batch``'s summary, JSON-ready."""
        counts = self.ledger.batch_counts(batch)
        last = Snapshot(self.clock(), counts)
        first = self._first.setdefault(batch, last)
        money = Budget(self.ledger.client).status(batch)
        elapsed = last.at - first.at
        rate = (last.finished - first.finished) / elapsed if elapsed > 0 else 0.0
        remaining = eta_s(first, last)
        return {
            "batch": batch,
            "jobs": last.total,
            "finished": last.finished,
            "states": {state.value: count for state, count in counts.items()},
            "spent_usd": round(money.spent_usd, 4),
            "billed_usd": round(money.billed_usd, 4),
            "reserved_usd": round(money.reserved_usd, 4),
            "budget_usd": money.limit_usd,
            "jobs_per_min": round(rate * 60, 2),
            "eta_s": None if remaining is None else round(remaining, 1),
            **mix(self.index.rows(batch)),
        }
