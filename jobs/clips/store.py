"""Clip records in Redis: create once, move by compare-and-set, watch for lost media messages.

A finished clip's record lives ``record_ttl_s`` (like a job's); an unfinished one never expires.

A clip is a hash like a job's (``s`` state, ``v`` version, ``j`` the Clip JSON) plus ``n``, its
number of segments once cut, and ``stitch``, which only the ledger's move script sets: the
write that stores the last segment claims the stitch (see ``ledger_move.lua``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import redis

from jobs import redis_keys
from jobs.clips.record import Clip, ClipState, can_move
from jobs.ledger import DEFAULT_RECORD_TTL_S, MAX_RACES, LedgerContention, epoch
from jobs.scripts import load_script


class ClipStore:
    """Clips in Redis: create, read, move by compare-and-set, and the clip watch list."""

    def __init__(
        self, client: redis.Redis[bytes], record_ttl_s: int = DEFAULT_RECORD_TTL_S
    ) -> None:
        self.client = client
        self.record_ttl_s = record_ttl_s
        self._add = load_script(client, "clip_add")
        self._move = load_script(client, "clip_move")

    def add(self, clips: Sequence[Clip]) -> list[bool]:
        """Create ``clips``; False for an id that exists (left untouched)."""
        pipe = self.client.pipeline(transaction=False)
        for clip in clips:
            self._add(
                keys=[redis_keys.clip(clip.id), redis_keys.batch_clips(clip.batch)],
                args=[clip.id, clip.state.value, clip.version, clip.model_dump_json()],
                client=pipe,
            )
        return [bool(created) for created in pipe.execute()]

    def get(self, clip_id: str) -> Clip | None:
        """The clip, or None."""
        raw = self.client.hget(redis_keys.clip(clip_id), "j")
        return None if raw is None else Clip.model_validate_json(raw)

    def get_many(self, ids: Sequence[str]) -> list[Clip]:
        """The clips of ``ids`` that exist, in the order asked."""
        pipe = self.client.pipeline(transaction=False)
        for clip_id in ids:
            pipe.hget(redis_keys.clip(clip_id), "j")
        return [Clip.model_validate_json(raw) for raw in pipe.execute() if raw is not None]

    def versions(self, ids: Sequence[str]) -> list[int | None]:
        """The version of each clip of ``ids`` (None: no such clip), without reading records."""
        pipe = self.client.pipeline(transaction=False)
        for clip_id in ids:
            pipe.hget(redis_keys.clip(clip_id), "v")
        return [None if raw is None else int(raw) for raw in pipe.execute()]

    def batch_ids(self, batch: str) -> list[str]:
        """The ids of ``batch``'s clips, sorted."""
        return sorted(item.decode() for item in self.client.smembers(redis_keys.batch_clips(batch)))

    def batch_clips(self, batch: str) -> list[Clip]:
        """``batch``'s clips, by id (for a test or a small batch: each is read whole)."""
        return self.get_many(self.batch_ids(batch))

    def stitch_claimed(self, clip_id: str) -> bool:
        """True once the ledger has handed out this clip's stitch."""
        return bool(self.client.hexists(redis_keys.clip(clip_id), "stitch"))

    def stored_segments(self, clip_id: str) -> set[str]:
        """The ids of the clip's segment jobs the ledger has seen STORED."""
        return {item.decode() for item in self.client.smembers(redis_keys.clip_stored(clip_id))}

    def forget_stored(self, clip_id: str, job_id: str) -> None:
        """Stop counting ``job_id`` as a stored segment of the clip (it was re-run)."""
        self.client.srem(redis_keys.clip_stored(clip_id), job_id)

    def move(
        self,
        clip: str | Clip,
        to: ClipState,
        *,
        expect: Collection[ClipState],
        now: datetime,
        detail: str = "",
        reopen: bool = False,
        **changes: Any,
    ) -> Clip | None:
        """Move the clip to ``to`` if it is in one of ``expect``, with ``changes`` and an event.

        Returns the new clip, or None when it is missing or elsewhere. ``reopen`` forgets the
        stitch claim (a retry: the last segment to be stored again claims it anew). Setting
        ``segments`` also records their number, which the ledger's fan-in counts against.
        Raises ValueError on a move the clip's states do not allow.
        """
        clip_id = clip if isinstance(clip, str) else clip.id
        for _ in range(MAX_RACES):
            current = self.get(clip_id)
            if current is None or current.state not in expect:
                return None
            if not can_move(current.state, to):
                raise ValueError(f"clip {clip_id}: {current.state} -> {to} is not allowed")
            data = {**current.model_dump(), **changes, "state": to}
            data.update(version=current.version + 1, updated_at=now)
            new = Clip.model_validate(data).with_event(now, detail)
            count = str(len(new.segments)) if "segments" in changes else ""
            ttl = self.record_ttl_s if to.terminal else 0
            args = [current.version, to.value, new.version, new.model_dump_json(), count,
                    "1" if reopen else "0", ttl]  # fmt: skip
            script_keys = [redis_keys.clip(clip_id), redis_keys.clip_stored(clip_id)]
            outcome = int(self._move(keys=script_keys, args=args))
            if outcome != 0:
                return new if outcome == 1 else None
        raise LedgerContention(f"clip {clip_id}: lost {MAX_RACES} races moving to {to}")

    def watch(self, clip_id: str, until: datetime) -> None:
        """Expect a media worker to have acted on ``clip_id`` by ``until``."""
        self.client.zadd(redis_keys.clip_watch(), {clip_id: epoch(until)})

    def unwatch(self, clip_id: str) -> None:
        """Stop expecting anything of ``clip_id``."""
        self.client.zrem(redis_keys.clip_watch(), clip_id)

    def watched(self, limit: int = 1000) -> list[str]:
        """Every watched clip id (those with a media step due or running), soonest first."""
        raw = self.client.zrange(redis_keys.clip_watch(), 0, limit - 1)
        return [item.decode() for item in raw]

    def overdue(self, now: datetime, limit: int = 1000) -> list[str]:
        """Watched clip ids whose expected time has passed, most overdue first."""
        raw = self.client.zrangebyscore(
            redis_keys.clip_watch(), "-inf", f"({epoch(now)}", start=0, num=limit
        )
        return [item.decode() for item in raw]
