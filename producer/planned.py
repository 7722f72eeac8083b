"""The rows of a plan as they stream out of preflight: repeats refused, the rest kept on disk.

`Assembly` takes each row that passed preflight in row order. A row whose item (its key, or
its source and options) repeats an earlier row's is a problem. The others are spooled
(`producer.spool`), and their output names counted in a table of hashes (`producer.seen`):
where two rows share a name, both fall back to their item, which is known only once every row
was seen, so `PlannedRows` applies it as the rows are read back. Nothing here holds a row of a
million-row plan in memory.
"""

from __future__ import annotations

from collections.abc import Iterator

from producer.checks import Problem
from producer.preflight import PlannedJob, renamed
from producer.seen import SeenLines, text_hash
from producer.spool import Spool


class PlannedRows:
    """The plan's rows in row order (read as often as needed), each output name unique."""

    def __init__(self, spool: Spool[PlannedJob], collided: frozenset[int]) -> None:
        self._spool = spool
        self._collided = collided

    def __len__(self) -> int:
        return len(self._spool)

    def __bool__(self) -> bool:
        return bool(self._spool)

    def __iter__(self) -> Iterator[PlannedJob]:
        collided = self._collided
        for row in self._spool:
            name = row.job.output_name
            if collided and name is not None and text_hash(name) in collided:
                yield renamed(row, row.job.item)
            else:
                yield row

    @property
    def on_disk(self) -> bool:
        """True when the rows did not fit one chunk in memory."""
        return self._spool.on_disk


class Assembly:
    """Collects preflight's good rows; `add` says when one repeats an earlier row."""

    def __init__(self, spool: Spool[PlannedJob] | None = None) -> None:
        self._spool: Spool[PlannedJob] = spool if spool is not None else Spool()
        self._items = SeenLines()
        self._names = SeenLines()
        self._collided: set[int] = set()

    def add(self, planned: PlannedJob) -> Problem | None:
        """Keep ``planned``, or the problem of a row repeating an earlier row's item."""
        item = planned.job.item
        first = self._items.first(item, planned.row)
        if first is not None:
            message = f"same source and options as row {first} (item {item})"
            return Problem(planned.row, planned.job.source, "source", message, planned.file)
        name = planned.job.output_name
        if name is not None:
            hashed = text_hash(name)
            if self._names.first_of(hashed, planned.row) is not None:
                self._collided.add(hashed)
        self._spool.append(planned)
        return None

    def rows(self) -> PlannedRows:
        """The rows kept so far."""
        return PlannedRows(self._spool, frozenset(self._collided))
