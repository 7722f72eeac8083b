"""`SeenLines`: which rows of a large manifest first held a key, in a few bytes per row (pure).

Planning a million-row manifest must notice a repeated key, item or output name without
keeping a million strings: a Python ``dict[str, int]`` costs about 150 bytes an entry, this table
12 (an open-addressing table of 64-bit hashes and 32-bit line numbers in two ``array``s, grown
at 60% full). Two different texts share a 64-bit hash about once in 10^13 pairs at a million
rows: the cost of such a collision is one row reported as repeating another, which the row's
message names, so it is seen and can be fixed by editing that row's key.
"""

from __future__ import annotations

from array import array

_EMPTY = 0
_INITIAL = 1024
_MASK64 = (1 << 64) - 1


def text_hash(text: str) -> int:
    """A nonzero 64-bit hash of ``text`` (stable within the process: the table never leaves it)."""
    return (hash(text) & _MASK64) or 1


class SeenLines:
    """The first line each text was seen on; ``len`` is how many distinct texts were seen."""

    def __init__(self) -> None:
        self._hashes = array("Q", bytes(8 * _INITIAL))
        self._lines = array("i", bytes(4 * _INITIAL))
        self._used = 0

    def __len__(self) -> int:
        return self._used

    def first(self, text: str, line: int) -> int | None:
        """The line ``text`` was first seen on; None, and ``line`` remembered, if it is new."""
        return self.first_of(text_hash(text), line)

    def first_of(self, hashed: int, line: int) -> int | None:
        """`first` for a `text_hash` already taken."""
        slot = self._slot(hashed)
        if self._hashes[slot] == hashed:
            return int(self._lines[slot])
        self._hashes[slot] = hashed
        self._lines[slot] = line
        self._used += 1
        if self._used * 5 > len(self._hashes) * 3:
            self._grow()
        return None

    def __contains__(self, text: object) -> bool:
        if not isinstance(text, str):
            return False
        hashed = text_hash(text)
        return self._hashes[self._slot(hashed)] == hashed

    def _slot(self, hashed: int) -> int:
        """Where ``hashed`` is, or the empty slot where it would go (linear probing)."""
        hashes = self._hashes
        mask = len(hashes) - 1
        slot = hashed & mask
        while True:
            found = hashes[slot]
            if found in (hashed, _EMPTY):
                return slot
            slot = (slot + 1) & mask

    def _grow(self) -> None:
        old_hashes, old_lines = self._hashes, self._lines
        size = 2 * len(old_hashes)
        self._hashes = array("Q", bytes(8 * size))
        self._lines = array("i", bytes(4 * size))
        for hashed, line in zip(old_hashes, old_lines, strict=True):
            if hashed != _EMPTY:
                slot = self._slot(hashed)
                self._hashes[slot] = hashed
                self._lines[slot] = line
