"""WAIT for replicas after the few writes whose loss costs money or loses work.

Redis replicates asynchronously: a primary that dies can take with it writes it already
acknowledged, and Sentinel then promotes a replica that never saw them. For most writes the
reconciler repairs that; for a job claimed before its paid POST (SUBMITTING), its remote id, its
STORED and a batch's new jobs it cannot, so those are followed by ``WAIT replicas timeout``.
With no replicas configured (one Redis) nothing waits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from config.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")


class NotReplicated(Exception):
    """Fewer replicas than configured acknowledged a write in time.

    The write stands on the primary; ``written`` is what was written (a job, or None). Before a
    costly act the step retries later instead of acting; after one it logs this and goes on.
    """

    def __init__(self, message: str, written: Any = None) -> None:
        super().__init__(message)
        self.written = written


@dataclass(frozen=True)
class Replicas:
    """How many replicas must hold a costly write (``WAIT``), and how long to wait for them.

    WAIT counts the writes of its own connection, so it is sent in the same pipeline as the
    write it covers (`Ledger` does so), never as a separate call on a pooled client.
    """

    count: int = 0
    timeout_ms: int = 1000

    @classmethod
    def of(cls, settings: Settings) -> Replicas:
        """``RESTYLE_REDIS_WAIT_REPLICAS`` and ``RESTYLE_REDIS_WAIT_TIMEOUT_MS``."""
        return cls(settings.redis_wait_replicas, settings.redis_wait_timeout_ms)

    def check(self, acknowledged: int, what: str, written: Any = None) -> None:
        """Raise `NotReplicated` when ``acknowledged`` (WAIT's answer) is short of `count`."""
        if acknowledged < self.count:
            raise NotReplicated(
                f"{what}: {acknowledged} of {self.count} replica(s) acknowledged it "
                f"within {self.timeout_ms} ms",
                written,
            )


NO_REPLICAS = Replicas()


def after_the_fact(write: Callable[[], T | None]) -> T | None:
    """Run a durable ``write`` that records an act already done (a paid POST, a stored copy).

    Too few replicas cannot undo the act, so stopping would only leave the job behind: log it
    and go on with what the primary holds.
    """
    try:
        return write()
    except NotReplicated as exc:
        _SHORTFALLS.note(str(exc))
        written: T | None = exc.written
        return written


class Shortfalls:
    """Logs a run of replica shortfalls once a minute with its count, not once per job."""

    def __init__(self, every_s: float = 60.0) -> None:
        self.every_s = every_s
        self.logged_at = -every_s
        self.unlogged = 0

    def note(self, message: str, now: float | None = None) -> bool:
        """Count one shortfall; True when this one was logged."""
        now = time.monotonic() if now is None else now
        self.unlogged += 1
        if now - self.logged_at < self.every_s:
            return False
        log.warning(
            "%s; going on, the primary holds it (%d such write(s) since the last warning)",
            message,
            self.unlogged,
        )
        self.logged_at, self.unlogged = now, 0
        return True


_SHORTFALLS = Shortfalls()
