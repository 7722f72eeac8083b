"""One thread per worker process that renews the leases its steps hold.

A step wraps its long work in `Heartbeat.hold`: the lease is taken before the step claims its
state (so a claimed state never stands without one), renewed every quarter of its period by
the thread, and dropped when the step ends. A process killed with SIGKILL renews nothing, so
its leases lapse within one period and the reconciler re-drives the work at once, where it used
to wait out a stall timer of minutes. A hold renews for at most ``max_hold_s``: past that, a
stuck step loses its lease and the stall timers of before apply.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from jobs.liveness.store import Leases

log = logging.getLogger(__name__)

RENEWALS_PER_PERIOD = 4
"""Renewals within one lease period: three may be missed (a slow Redis, a busy core) before a
live holder's lease lapses."""


@dataclass
class _Hold:
    subject: str
    token: str
    until: float  # monotonic: renewed until then at most


class Heartbeat:
    """The leases this process holds, and the thread that renews them (``lease_s`` 0: off)."""

    def __init__(self, leases: Leases, lease_s: float) -> None:
        self.leases = leases
        self.lease_s = lease_s
        self._held: dict[str, _Hold] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0

    @property
    def enabled(self) -> bool:
        return self.lease_s > 0

    @contextmanager
    def hold(self, subject: str, max_hold_s: float) -> Iterator[None]:
        """Hold ``subject``'s lease while the block runs (renewed for up to ``max_hold_s``)."""
        if not self.enabled:
            yield
            return
        token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.leases.take(subject, token, self.lease_s, first=True)
        with self._lock:
            self._held[token] = _Hold(subject, token, time.monotonic() + max_hold_s)
        self._ensure_thread()
        try:
            yield
        finally:
            with self._lock:
                self._held.pop(token, None)
            try:
                self.leases.drop(subject, token)
            except Exception:
                # It lapses by itself within one period; the step's own outcome matters more.
                log.warning("could not drop the lease of %s", subject, exc_info=True)

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
                return
            # A forked child inherits the attribute, not the thread: start its own.
            self._thread = threading.Thread(target=self._run, name="lease-heartbeat", daemon=True)
            self._pid = os.getpid()
            self._thread.start()

    def _run(self) -> None:
        interval = self.lease_s / RENEWALS_PER_PERIOD
        while not self._wake.wait(interval):
            now = time.monotonic()
            with self._lock:
                due = [hold for hold in self._held.values() if hold.until > now]
            for hold in due:
                try:
                    self.leases.take(hold.subject, hold.token, self.lease_s, first=False)
                except Exception:
                    log.warning("could not renew the lease of %s", hold.subject, exc_info=True)

    def stop(self) -> None:
        """Stop renewing (process shutdown); held leases lapse by themselves."""
        self._wake.set()
