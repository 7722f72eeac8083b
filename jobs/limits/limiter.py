"""The cluster-wide limiter: per (provider, API key) concurrency, request rate and cooldown.

Every check is one Lua script (``limiter_*.lua``), so all workers see one truth:

- **concurrency**: a leased semaphore. A slot is taken at submit and held while the remote job
  runs; polls renew the lease, the end of the job releases it, and a lease nobody renews (its
  worker died) is reaped by the next check, so a crash never leaks a slot for good.
- **parking**: a holder refused a slot (key full, or other batches go first) is parked in the
  key's queue rather than retrying on a timer. `hand_over` hands free slots to parked holders, each
  under a fresh lease, and returns them for the caller to send their submits at once: a freed
  slot is busy again within one message, and 10,000 waiting jobs cost no message. Callers keep
  a long fallback (the ledger's watch index) in case a wake-up is lost.
- **rate**: a sliding window over every HTTP call to the key (submits and polls), as providers
  count it: at most ``floor(rate)`` calls in any ``floor(rate) / rate`` seconds (fewer at a
  lower effective rate), widened by `RATE_MARGIN_S` for the jitter between asking and arriving.
- **cooldown**: a 429 or 455 sets it from Retry-After (or from backoff when none is given);
  every check obeys it.
- **AIMD**: a 429 without the provider's limit halves the key's effective rate (once per
  cooldown, down to a floor); each success adds 2% of the ceiling back. Changes are logged.
- **fairness**: parked interactive batches go before bulk ones; batches of one priority take
  slots round-robin (the batch served least recently goes first).

A refusal says when to ask again: exactly, for the rate and the cooldown; for a parked holder,
an estimate of its turn from the observed hold time, which callers use only for the fallback.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from jobs import redis_keys
from jobs.limits.limiter_state import RATE_MARGIN_S, KeyLimits, KeyLoad, LimiterState, rate_window
from jobs.models import Priority
from jobs.scripts import load_script
from jobs.timing import POLICY

__all__ = ["RATE_MARGIN_S", "Grant", "Handover", "KeyLimits", "KeyLoad", "Limiter", "rate_window"]

log = logging.getLogger(__name__)

DECREASE_FACTOR = 0.5
INCREASE_FRACTION = 0.02
LOG_STEP_FRACTION = 0.1  # AIMD climbs are logged at each further 10% of the ceiling
RECHECK_MIN_S = 1.0
RECHECK_MAX_S = 15.0
HOLD_WEIGHT = 0.2

SLOT_KINDS = ("slots", "started", "requests", "cooldown", "aimd", "stats",
              "parked-interactive", "parked-bulk", "served")  # fmt: skip
WAKE_KINDS = ("slots", "started", "stats", "parked-interactive", "parked-bulk", "served")
LOAD_KINDS = ("cooldown", "slots", "stats", "aimd", "requests")


@dataclass(frozen=True)
class Grant:
    """A limiter answer: when refused, ``retry_after_s`` says when to ask again, and ``parked``
    that the holder waits in the key's queue for `hand_over` to hand it a slot."""

    allowed: bool
    retry_after_s: float
    reason: str
    parked: bool = False


@dataclass(frozen=True)
class Handover:
    """A parked holder that `hand_over` gave a slot: its submit should be sent now."""

    holder: str
    priority: Priority


def _grant(raw: Sequence[Any]) -> Grant:
    allowed, wait, reason, *parked = raw
    return Grant(bool(int(allowed)), float(wait), reason.decode(), bool(parked and parked[0]))


def _number(raw: bytes | str | int | None) -> float:
    return float(raw) if raw not in (None, b"", "") else 0.0


def _log_step(rate: float, limits: KeyLimits) -> int:
    return math.floor(rate / (limits.rate_per_s * LOG_STEP_FRACTION) + 1e-9)


def _parked_prefix(provider: str, key_id: str) -> str:
    return redis_keys.limiter("parked", str(provider), key_id) + ":"


class Limiter(LimiterState):
    """Per (provider, key) limits shared by every worker through Redis."""

    def __init__(self, client: redis.Redis[bytes], clock: Callable[[], float] = time.time) -> None:
        super().__init__(client, clock)
        script = {name: load_script(client, "limiter_common", f"limiter_{name}")
                  for name in ("acquire_slot", "acquire_request", "release", "cooldown",
                               "throttled", "success", "hand_over", "load")}  # fmt: skip
        self._slot, self._request = script["acquire_slot"], script["acquire_request"]
        self._release, self._cooldown = script["release"], script["cooldown"]
        self._throttled, self._success = script["throttled"], script["success"]
        self._hand_over, self._load = script["hand_over"], script["load"]

    def loads(
        self, provider: str, key_ids: Sequence[str], limits_by_key: Mapping[str, KeyLimits]
    ) -> dict[str, KeyLoad]:
        """Cooldown, live leases, parked holders and rate pressure of each key, in one round
        trip (one read-only script) rather than five reads per key."""
        now = self.clock()
        script_keys = [name for key in key_ids for name in self._keys(provider, key, *LOAD_KINDS)]
        args = [now, RATE_MARGIN_S, *(a for key in key_ids for a in limits_by_key[key].rate_args())]
        raw = self._load(keys=script_keys, args=args)
        found = {}
        for index, key in enumerate(key_ids):
            until, in_flight, parked, used, capacity = raw[5 * index : 5 * index + 5]
            found[key] = KeyLoad(
                cooldown_s=max(_number(until) - now, 0.0),
                in_flight=int(in_flight),
                parked=max(int(_number(parked)), 0),
                rate_pressure=min(int(used) / int(capacity), 1.0),
            )
        return found

    def rate_pressure(self, provider: str, key_id: str, limits: KeyLimits) -> float:
        """How full the key's rate window is, 0 (idle) to 1 (the next call must wait)."""
        return self.loads(provider, [key_id], {key_id: limits})[key_id].rate_pressure

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
        """Take a slot (and one request) for ``holder``, or park it; idempotent per holder.

        A holder already holding a slot (handed one by `hand_over`, or a redelivered submit) keeps
        it and only spends the request. ``hold_guess_s`` (e.g. the provider's typical job time)
        stands in for the observed hold time until the key has seen a slot released.
        """
        args = [self.clock(), holder, lease_s, limits.concurrency, *limits.rate_args(), batch,
                Priority(priority).value, RATE_MARGIN_S,
                "" if hold_guess_s is None else hold_guess_s,
                _parked_prefix(provider, key_id), RECHECK_MIN_S, RECHECK_MAX_S]  # fmt: skip
        return _grant(self._slot(keys=self._keys(provider, key_id, *SLOT_KINDS), args=args))

    def hand_over(
        self, provider: str, key_id: str, limits: KeyLimits, lease_s: float
    ) -> list[Handover]:
        """Hand the key's free slots to parked holders; the caller must send their submits."""
        args = [self.clock(), limits.concurrency, lease_s, _parked_prefix(provider, key_id)]
        raw = self._hand_over(keys=self._keys(provider, key_id, *WAKE_KINDS), args=args)
        pairs = zip(raw[::2], raw[1::2], strict=True)
        return [Handover(holder.decode(), Priority(kind.decode())) for holder, kind in pairs]

    def renew(self, provider: str, key_id: str, holder: str, lease_s: float) -> bool:
        """Extend ``holder``'s lease; False when it holds no slot (released or reaped)."""
        slots = redis_keys.limiter("slots", str(provider), key_id)
        pipe = self.client.pipeline(transaction=True)
        pipe.zadd(slots, {holder: self.clock() + lease_s}, xx=True)
        pipe.zscore(slots, holder)
        return pipe.execute()[1] is not None

    def release(self, provider: str, key_id: str, holder: str) -> None:
        """Give ``holder``'s slot back (a no-op when it holds none); see `hand_over`."""
        script_keys = self._keys(provider, key_id, "slots", "started", "stats")
        self._release(keys=script_keys, args=[holder, self.clock(), HOLD_WEIGHT])

    def acquire_request(self, provider: str, key_id: str, limits: KeyLimits) -> Grant:
        """Spend one request of the key's rate (a poll, a cancel), unless it is cooling down."""
        script_keys = self._keys(provider, key_id, "requests", "cooldown", "aimd", "stats")
        args = [self.clock(), *limits.rate_args(), RATE_MARGIN_S]
        return _grant(self._request(keys=script_keys, args=args))

    def set_cooldown(self, provider: str, key_id: str, seconds: float, reason: str) -> None:
        """No call to the key for ``seconds`` from now (an existing longer cooldown stays)."""
        script_keys = self._keys(provider, key_id, "cooldown")
        self._cooldown(keys=script_keys, args=[self.clock(), max(seconds, 0.0), reason])

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
                *POLICY.cooldown_bounds(), DECREASE_FACTOR, "throttled"]  # fmt: skip
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
        raw = self._success(keys=self._keys(provider, key_id, "aimd"), args=args)
        before, rate = float(raw[0]), float(raw[1])
        if _log_step(rate, limits) != _log_step(before, limits):
            log.info(
                "%s key %s: effective rate back up to %.3g/s of %.3g/s",
                provider, key_id, rate, limits.rate_per_s,
                extra={"provider": str(provider), "key_id": key_id, "effective_rate": rate},
            )  # fmt: skip
        return rate
