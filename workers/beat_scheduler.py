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
from redbeat.schedulers import LUA_EXTEND_TO_SCRIPT, get_redis

from config.redis import cause_of

log = logging.getLogger(__name__)

RETRY_S = 2.0
"""How soon a tick that met Redis down is tried again."""


class OutageTolerantScheduler(RedBeatScheduler):  # type: ignore[misc]
    """``-S workers.beat_scheduler.OutageTolerantScheduler`` (the app's default)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._down_since: float | None = None
        self._lock_lost = False
        self._set_up = False
        super().__init__(*args, **kwargs)

    def setup_schedule(self) -> None:
        """RedBeat's setup (static entries into Redis); with Redis down, done at a later tick,
        so beat starts (and heeds SIGTERM) whatever Redis does."""
        try:
            super().setup_schedule()
            self._set_up = True
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self._note_down(exc)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        """One RedBeat tick; while Redis is unreachable, a short wait instead of an exit."""
        try:
            if not self._set_up:
                super().setup_schedule()
                self._set_up = True
            if self.lock is None and self.lock_key:
                # Its first try (at beat_init) met Redis down: take it before any entry runs.
                self._lock_lost = True
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

    def close(self) -> None:
        """RedBeat's close (release the lock); with Redis down, the lock expires by itself."""
        try:
            super().close()
        except (redis.ConnectionError, redis.TimeoutError, redis.exceptions.LockError) as exc:
            log.warning(
                "beat: lock not released (Redis %s); it expires in %s s",
                cause_of(exc),
                self.lock_timeout,
            )
            self.lock = None

    def _take_lock_again(self) -> bool:
        if self.lock is None and not self.lock_key:
            return True
        lock = self.lock if self.lock is not None else self._new_lock()
        if lock.acquire(blocking=False):
            log.info("beat: lock taken again")
            self.lock, self._lock_lost = lock, False
            return True
        return False

    def _new_lock(self) -> Any:
        """The lock RedBeat takes at beat_init (its extend script included)."""
        client = get_redis(self.app)
        lock = client.lock(self.lock_key, timeout=self.lock_timeout, sleep=self.max_interval)
        lock.lua_extend = client.register_script(LUA_EXTEND_TO_SCRIPT)
        return lock

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
