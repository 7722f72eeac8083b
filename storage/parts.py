"""Parts of a multipart upload, kept as the chunks they arrived in.

A part is never joined into one large buffer: `PartBody` reads across the received chunks like
a file, which is all botocore needs (it reads it to sign and checksum, seeks back, then sends
it). That keeps one copy of each part in memory and avoids large allocations that fragment the
heap when several threads upload at once.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterable, Iterator


class PartBody:
    """A read-only, seekable file over a list of byte chunks."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks
        self._starts: list[int] = []
        total = 0
        for chunk in chunks:
            self._starts.append(total)
            total += len(chunk)
        self.size = total
        self._position = 0

    def __len__(self) -> int:
        return self.size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Move like `io.IOBase.seek`; return the new position."""
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: self.size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes from the current position (everything left when negative)."""
        end = self.size if size < 0 else min(self.size, self._position + size)
        pieces: list[bytes] = []
        while self._position < end:
            index = bisect.bisect_right(self._starts, self._position) - 1
            within = self._position - self._starts[index]
            chunk = self._chunks[index]
            piece = chunk[within : within + end - self._position]
            pieces.append(piece)
            self._position += len(piece)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def close(self) -> None:
        """Nothing to release; botocore may call it."""


def rechunk(chunks: Iterable[bytes], part_bytes: int) -> Iterator[PartBody]:
    """Group a stream of chunks into parts of exactly ``part_bytes`` (the last may be short)."""
    held: list[bytes] = []
    size = 0
    for chunk in chunks:
        while chunk:
            head, chunk = _split(chunk, part_bytes - size)
            held.append(head)
            size += len(head)
            if size == part_bytes:
                yield PartBody(held)
                held, size = [], 0
    if held:
        yield PartBody(held)


def _split(chunk: bytes, at: int) -> tuple[bytes, bytes]:
    if len(chunk) <= at:
        return chunk, b""
    return chunk[:at], chunk[at:]
