"""`Spool`: a list written once and read any number of times, kept on disk past a few hundred
items, so a plan of a million rows holds none of them in memory.

Items are pickled in chunks into an unlinked temporary file (it vanishes with the process or
`close`; nothing else can open it, so pickle reads only what this process wrote). Reading uses
``os.pread`` at recorded offsets: two readers never move each other's position.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Iterator
from typing import IO, Generic, TypeVar

T = TypeVar("T")

CHUNK_ITEMS = 512


class Spool(Generic[T]):
    """Append items, then iterate them in order (as often as needed)."""

    def __init__(self, chunk_items: int = CHUNK_ITEMS) -> None:
        self._chunk_items = chunk_items
        self._buffer: list[T] = []
        self._file: IO[bytes] | None = None
        self._chunks: list[tuple[int, int]] = []
        self._end = 0
        self._count = 0

    def append(self, item: T) -> None:
        """Add ``item`` at the end."""
        self._buffer.append(item)
        self._count += 1
        if len(self._buffer) >= self._chunk_items:
            self._spill()

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def __iter__(self) -> Iterator[T]:
        chunks, buffered = list(self._chunks), list(self._buffer)
        for offset, size in chunks:
            assert self._file is not None
            data = os.pread(self._file.fileno(), size, offset)
            items: list[T] = pickle.loads(data)  # noqa: S301 - this process's own unlinked file
            yield from items
        yield from buffered

    @property
    def on_disk(self) -> bool:
        """True once items were written to the file (the plan was larger than one chunk)."""
        return bool(self._chunks)

    def close(self) -> None:
        """Drop the items (the file is deleted)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._chunks.clear()
        self._buffer.clear()
        self._count = 0

    def _spill(self) -> None:
        if self._file is None:
            # Open for the spool's life, closed by `close` or with the spool.
            self._file = tempfile.TemporaryFile(prefix="restyle-plan-")  # noqa: SIM115
        data = pickle.dumps(self._buffer, protocol=pickle.HIGHEST_PROTOCOL)
        written = 0
        while written < len(data):
            written += os.pwrite(self._file.fileno(), data[written:], self._end + written)
        self._chunks.append((self._end, written))
        self._end += written
        self._buffer = []
