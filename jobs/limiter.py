"""The cluster-wide limiter: per (provider, API key) concurrency, request rate and cooldown.

Every check is one Lua script (``limiter_*.lua``), so all workers see one truth:

- **concurrency**: a leased semaphore. A slot is taken at submit and held while the remote job
  runs; polls renew the lease, the end of the job releases it, and a lease nobody renews (its
  worker died) is reaped by the next check, so a crash never leaks a slot for good.
- **rate**: GCRA over every HTTP call to the key (submits and polls), with a bucket of one
  second's worth of requests: in any window of W seconds at most ``rate * W + burst`` calls.
- **cooldown**: a 429 or 455 sets it from Retry-After (or from backoff when none is given);
  every check obeys it.
- **AIMD**: a 429 without the provider's limit halves the key's effective rate (once per
  cooldown, down to a floor); each success adds 2% of the ceiling back.
- **fairness**: a bulk batch yields while interactive batches wait for the key; batches of one
  priority take slots round-robin (the least recently served waiting batch goes first).

When a slot is refused, the retry countdown comes from the key's state: for a full key, the
oldest running job's start plus the key's observed hold time (a moving average of how long
slots were held), clamped to [1 s, 15 s]. The earliest lease *expiry* would be a poor guess:
a running remote job renews its lease until it ends. The clamp keeps a freed slot from idling
long when the estimate is wrong. Callers may add jitter.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from jobs import keys
from jobs.models import Priority
from jobs.scripts import load_script

log = logging.getLogger(__name__)

DEFAULT_FLOOR_FRACTION = 0.1
DECREASE_FACTOR = 0.5
INCREASE_FRACTION = 0.02
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 60.0
RECHECK_MIN_S = 1.0
RECHECK_MAX_S = 15.0
WAITING_GRACE_S = 5.0
"""How long past its retry time a waiting batch still counts as waiting."""
HOLD_WEIGHT = 0.2

SLOT_KINDS = ("slots", "started", "rate", "cooldown", "aimd", "stats",
              "waiting-interactive", "waiting-bulk", "served")  # fmt: skip


@dataclass(frozen=True)
class KeyLimits:
    """The configured limits of one API key; the floor defaults to 10% of the rate."""

    concurrency: int
    rate_per_s: float
    rate_floor_per_s: float | None = None

    @property
    def floor(self) -> float:
        floor = self.rate_floor_per_s or self.rate_per_s * DEFAULT_FLOOR_FRACTION
        return min(floor, self.rate_per_s)

    def rate_args(self) -> list[float]:
        return [self.rate_per_s, self.floor]


@dataclass(frozen=True)
class Grant:
    """A limiter answer; when refused, ``retry_after_s`` says when to ask again."""

    allowed: bool
    retry_after_s: float
    reason: str


def bucket_depth_s(rate_per_s: float) -> float:
    """Seconds of backlog the rate bucket holds: one second's worth of requests, at least one."""
    return max(1, math.floor(rate_per_s)) / rate_per_s


def _grant(raw: Sequence[Any]) -> Grant:
    allowed, wait, reason = raw
    return Grant(bool(int(allowed)), float(wait), reason.decode())


def _float(raw: Any, default: float = 0.0) -> float:
    return default if raw is None else float(raw)


class Limiter:
    """Per (provider, key) limits shared by every worker through Redis."""

    def __init__(self, client: redis.Redis[bytes], clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.clock = clock
        self._slot = load_script(client, "limiter_common", "limiter_acquire_slot")
        self._request = load_script(client, "limiter_common", "limiter_acquire_request")
        self._release = load_script(client, "limiter_common", "limiter_release")
        self._cooldown = load_script(client, "limiter_common", "limiter_cooldown")
        self._throttled = load_script(client, "limiter_common", "limiter_throttled")
        self._success = load_script(client, "limiter_common", "limiter_success")

    def _keys(self, provider: str, key_id: str, *kinds: str) -> list[str]:
        return [keys.limiter(kind, str(provider), key_id) for kind in kinds]

    def acquire_slot(
        self,
        provider: str,
        key_id: str,
        holder: str,
        limits: KeyLimits,
        lease_s: float,
        *,
        batch: str,
        priority: Priority,
        hold_guess_s: float | None = None,
    ) -> Grant:
        """Take a slot (and one request) for ``holder``; idempotent for a holder holding one.

        ``hold_guess_s`` (e.g. the provider's typical job time) stands in for the observed hold
        time until the key has seen a slot released.
        """
        args = [self.clock(), holder, lease_s, limits.concurrency, *limits.rate_args(), batch,
                Priority(priority).value, RECHECK_MIN_S, RECHECK_MAX_S,
                "" if hold_guess_s is None else hold_guess_s, WAITING_GRACE_S]  # fmt: skip
        return _grant(self._slot(keys=self._keys(provider, key_id, *SLOT_KINDS), args=args))

    def renew(self, provider: str, key_id: str, holder: str, lease_s: float) -> bool:
        """Extend ``holder``'s lease; False when it holds no slot (released or reaped)."""
        slots = keys.limiter("slots", str(provider), key_id)
        pipe = self.client.pipeline(transaction=True)
        pipe.zadd(slots, {holder: self.clock() + lease_s}, xx=True)
        pipe.zscore(slots, holder)
        return pipe.execute()[1] is not None

    def release(self, provider: str, key_id: str, holder: str) -> None:
        """Give ``holder``'s slot back (a no-op when it holds none)."""
        script_keys = self._keys(provider, key_id, "slots", "started", "stats")
        self._release(keys=script_keys, args=[holder, self.clock(), HOLD_WEIGHT])

    def acquire_request(self, provider: str, key_id: str, limits: KeyLimits) -> Grant:
        """Spend one request of the key's rate (a poll, a cancel), unless it is cooling down."""
        script_keys = self._keys(provider, key_id, "rate", "cooldown", "aimd")
        args = [self.clock(), *limits.rate_args()]
        return _grant(self._request(keys=script_keys, args=args))

    def set_cooldown(self, provider: str, key_id: str, seconds: float, reason: str) -> None:
        """No call to the key for ``seconds`` from now (an existing longer cooldown stays)."""
        script_keys = self._keys(provider, key_id, "cooldown")
        self._cooldown(keys=script_keys, args=[self.clock(), max(seconds, 0.0), reason])

    def cooldown_remaining(self, provider: str, key_id: str) -> float:
        """Seconds left of the key's cooldown (0 when none)."""
        until = self.client.hget(keys.limiter("cooldown", str(provider), key_id), "until")
        return max(_float(until) - self.clock(), 0.0)

    def on_throttled(
        self,
        provider: str,
        key_id: str,
        limits: KeyLimits,
        retry_after_s: float | None,
        *,
        reported_rate_per_s: float | None = None,
    ) -> float:
        """Record a 429/455: cooldown, and the rate cut (or set to the provider's own limit).

        Returns the key's new effective rate.
        """
        args = [self.clock(), *limits.rate_args(),
                "" if retry_after_s is None else max(retry_after_s, 0.0),
                "" if reported_rate_per_s is None else reported_rate_per_s,
                BACKOFF_BASE_S, BACKOFF_CAP_S, DECREASE_FACTOR, "throttled"]  # fmt: skip
        rate = float(self._throttled(keys=self._keys(provider, key_id, "cooldown", "aimd"),
                                     args=args))  # fmt: skip
        log.warning(
            "%s key %s throttled (retry-after %s): effective rate now %.3g/s of %.3g/s",
            provider, key_id, retry_after_s, rate, limits.rate_per_s,
            extra={"provider": str(provider), "key_id": key_id, "effective_rate": rate},
        )  # fmt: skip
        return rate

    def on_success(self, provider: str, key_id: str, limits: KeyLimits) -> float:
        """Record a call that went through: the effective rate climbs back additively."""
        args = [*limits.rate_args(), limits.rate_per_s * INCREASE_FRACTION]
        return float(self._success(keys=self._keys(provider, key_id, "aimd"), args=args))

    def effective_rate(self, provider: str, key_id: str, limits: KeyLimits) -> float:
        """The key's current request rate, between its floor and its configured ceiling."""
        raw = self.client.hget(keys.limiter("aimd", str(provider), key_id), "rate")
        return min(max(_float(raw, limits.rate_per_s), limits.floor), limits.rate_per_s)

    def rate_pressure(self, provider: str, key_id: str, limits: KeyLimits) -> float:
        """How full the key's rate bucket is, 0 (idle) to 1 (the next call must wait)."""
        rate = self.effective_rate(provider, key_id, limits)
        tat = self.client.get(keys.limiter("rate", str(provider), key_id))
        backlog = max(_float(tat) - self.clock(), 0.0)
        return min(backlog / bucket_depth_s(rate), 1.0)

    def in_flight(self, provider: str, key_id: str) -> int:
        """Slots held under a live lease."""
        slots = keys.limiter("slots", str(provider), key_id)
        return int(self.client.zcount(slots, f"({self.clock()}", "+inf"))

    def pick_key(
        self, provider: str, key_ids: Sequence[str], limits_by_key: Mapping[str, KeyLimits]
    ) -> str:
        """The key of the pool to use next: not cooling down, least loaded, least rate used."""
        if not key_ids:
            raise ValueError(f"no API key configured for {provider}")
        order = {key: index for index, key in enumerate(key_ids)}

        def load(key: str) -> tuple[bool, float, float, float, int]:
            limits = limits_by_key[key]
            cooling = self.cooldown_remaining(provider, key)
            busy = self.in_flight(provider, key) / max(limits.concurrency, 1)
            pressure = self.rate_pressure(provider, key, limits)
            return cooling > 0, busy, cooling, pressure, order[key]

        return min(key_ids, key=load)

    def snapshot(self, provider: str, key_id: str, limits: KeyLimits) -> dict[str, Any]:
        """The key's state for ``restyle limits`` and logs (no secrets: keys are ids)."""
        now = self.clock()
        names = self._keys(provider, key_id, "cooldown", "aimd", "stats")
        cooldown, aimd, stats = (self.client.hgetall(name) for name in names)
        return {
            "provider": str(provider),
            "key_id": key_id,
            "in_flight": self.in_flight(provider, key_id),
            "concurrency": limits.concurrency,
            "effective_rate": self.effective_rate(provider, key_id, limits),
            "rate_ceiling": limits.rate_per_s,
            "rate_pressure": self.rate_pressure(provider, key_id, limits),
            "cooldown_remaining": max(_float(cooldown.get(b"until")) - now, 0.0),
            "cooldown_reason": cooldown.get(b"reason", b"").decode(),
            "throttle_streak": int(aimd.get(b"streak", 0)),
            "avg_hold_s": _float(stats.get(b"avg_hold")),
            "waiting": {p.value: self._waiting(provider, key_id, p, now) for p in Priority},
        }

    def _waiting(self, provider: str, key_id: str, priority: Priority, now: float) -> list[str]:
        name = keys.limiter(f"waiting-{priority.value}", str(provider), key_id)
        return sorted(item.decode() for item in self.client.zrangebyscore(name, f"({now}", "+inf"))
