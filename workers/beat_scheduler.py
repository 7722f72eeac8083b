"""RedBeat's scheduler, made to outlive a Redis outage or failover instead of exiting.

Celery beat exits when its scheduler's ``tick`` raises, and RedBeat's does on any Redis error
past its client's retries: extending its lock, reading its schedule. Here a tick that meets
Redis down logs the outage once and tries again shortly; when Redis comes back (the same one
restarted, or a promoted replica) beat goes on with no restart. A lock lost meanwhile (it
expired while Redis was down, or never reached the replica that was promoted) is taken again
without blocking: if another beat took it first, this one stays on standby, as at start.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from redbeat import RedBeatScheduler

from config.redis import cause_of

log = logging.getLogger(__name__)

RETRY_S = 2.0
"""How soon a tick that met Redis down is tried again."""


class OutageTolerantScheduler(RedBeatScheduler):  # type: ignore[misc]
    """``-S workers.beat_scheduler.OutageTolerantScheduler`` (the app's default)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._down_since: float | None = None
        self._lock_lost = False
        super().__init__(*args, **kwargs)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        """One RedBeat tick; while Redis is unreachable, a short wait instead of an exit."""
        try:
            if self._lock_lost and not self._take_lock_again():
                return self.max_interval  # type: ignore[no-any-return]
            interval: float = super().tick(*args, **kwargs)
        except redis.exceptions.LockError:
            log.warning("beat: its lock expired or was lost with Redis; taking it again")
            self._lock_lost = True
            return RETRY_S
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self._note_down(exc)
            return RETRY_S
        self._note_up()
        return interval

    def _take_lock_again(self) -> bool:
        if self.lock is None:
            return True
        if self.lock.acquire(blocking=False):
            log.info("beat: lock taken again")
            self._lock_lost = False
            return True
        return False

    def _note_down(self, exc: Exception) -> None:
        if self._down_since is None:
            self._down_since = self.app.now().timestamp()
            # Named by its cause: a refused password is not an outage, though both wait.
            log.warning("beat: Redis %s (%s); waiting for it", cause_of(exc), exc)

    def _note_up(self) -> None:
        if self._down_since is not None:
            gone = self.app.now().timestamp() - self._down_since
            log.warning("beat: Redis is back (ticks failed for %.0f s)", gone)
            self._down_since = None
