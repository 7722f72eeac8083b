"""`SingleFlight`: a bounded memo that computes each key once, however many threads ask at once.

Preflight checks rows on a thread pool, and a library names one source in many rows: an LRU
cache alone would let the first few rows of a source probe it side by side.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    """``compute(key)`` once per key among the last ``maxsize`` keys; callers of a key being
    computed wait for that result (or its exception) instead of computing it again."""

    def __init__(self, compute: Callable[[K], V], maxsize: int) -> None:
        self._compute = compute
        self._maxsize = maxsize
        self._lock = threading.Lock()
        self._entries: OrderedDict[K, Future[V]] = OrderedDict()

    def __call__(self, key: K) -> V:
        with self._lock:
            found = self._entries.get(key)
            owner = found is None
            if found is None:
                found = self._entries[key] = Future()
                while len(self._entries) > self._maxsize:
                    self._entries.popitem(last=False)
            else:
                self._entries.move_to_end(key)
        if owner:
            try:
                found.set_result(self._compute(key))
            except BaseException as exc:
                found.set_exception(exc)
        return found.result()
