"""Leases in Redis: one hash per subject, written and read with the Redis clock (no skew).

Times are Redis's own (``TIME`` inside the scripts), so workers and the reconciler on hosts with
different clocks agree on whether a lease has lapsed.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis

from jobs import redis_keys
from jobs.liveness.lease import LAPSED_FIELD, LeaseView

KEY_TTL_S = 3600
"""How long a lease hash outlives its last write: long enough for the reconciler to see a dead
holder's field, short enough that a forgotten mark goes away by itself."""

_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[3] == '0' and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  return 0  -- a renewal racing the hold's end must not bring the dropped field back
end
if ARGV[3] == '1' then
  -- a new holder: the dead holders and the lapsed mark are history now
  local fields = redis.call('HGETALL', KEYS[1])
  for i = 1, #fields, 2 do
    if fields[i] == ARGV[5] or tonumber(fields[i + 1]) <= now then
      redis.call('HDEL', KEYS[1], fields[i])
    end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], now + tonumber(ARGV[2]))
redis.call('EXPIRE', KEYS[1], ARGV[4])
return now
"""

_READ = """
local t = redis.call('TIME')
local out = {tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)}
for i = 1, #KEYS do
  out[#out + 1] = redis.call('HGETALL', KEYS[i])
end
return out
"""

_LAPSE = f"""
for i = 1, #ARGV do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 0 then return 0 end
end
for i = 1, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
local t = redis.call('TIME')
redis.call('HSET', KEYS[1], '{LAPSED_FIELD}', t[1])
redis.call('EXPIRE', KEYS[1], {KEY_TTL_S})
return 1
"""


def job_subject(job_id: str) -> str:
    return f"job:{job_id}"


def clip_subject(clip_id: str) -> str:
    return f"clip:{clip_id}"


class Leases:
    """Take, renew, drop and read leases."""

    def __init__(self, client: redis.Redis[bytes]) -> None:
        self.client = client
        self._take = client.register_script(_TAKE)
        self._read = client.register_script(_READ)
        self._lapse = client.register_script(_LAPSE)

    def take(self, subject: str, token: str, ttl_s: float, first: bool = True) -> None:
        """Hold ``subject`` for ``ttl_s`` from now: ``first``, a new hold (dead holders and the
        lapsed mark are cleared); else a renewal, which does nothing once the hold was dropped."""
        args = [token, int(ttl_s * 1000), "1" if first else "0", KEY_TTL_S, LAPSED_FIELD]
        self._take(keys=[redis_keys.lease(subject)], args=args)

    def drop(self, subject: str, token: str) -> None:
        """Stop holding ``subject`` (the hash goes when its last field does)."""
        self.client.hdel(redis_keys.lease(subject), token)

    def read(self, subjects: Sequence[str]) -> dict[str, LeaseView]:
        """Each subject's lease as it stands, all read at one Redis instant."""
        if not subjects:
            return {}
        raw = self._read(keys=[redis_keys.lease(s) for s in subjects])
        now_ms = int(raw[0])
        views = {}
        for subject, flat in zip(subjects, raw[1:], strict=True):
            fields = {_text(flat[i]): int(flat[i + 1]) for i in range(0, len(flat), 2)}
            views[subject] = LeaseView(fields, now_ms)
        return views

    def view(self, subject: str) -> LeaseView:
        return self.read([subject])[subject]

    def mark_lapsed(self, subject: str, dead_tokens: Sequence[str]) -> bool:
        """Replace ``dead_tokens`` by the lapsed mark; False when another pass did it first
        (so one reconcile pass, of however many running, re-drives the subject)."""
        return bool(self._lapse(keys=[redis_keys.lease(subject)], args=list(dead_tokens)))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
