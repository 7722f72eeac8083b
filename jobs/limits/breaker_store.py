"""The circuit breakers in Redis, shared by every worker, and the jobs waiting out an outage.

Each change reads the key's `Circuit`, applies the pure function of `jobs.limits.breaker` and writes
the result under WATCH/MULTI, retrying when another worker changed it meanwhile: the math stays
in one tested place and the write is still atomic. A closed circuit admitting a submit costs
one read and no write.

Jobs with nowhere to go wait in one sorted set (scored by their deadline), not in a retry
loop; when a probe closes a circuit, `Breakers.record` hands them back to be re-routed. One of
them, per open circuit, holds the *timer*: its delayed submit is the probe once the cooldown
ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import cast

import redis

from jobs import redis_keys
from jobs.limits.breaker import BreakerPolicy, Circuit, CircuitState, Outcome, admit, record

RETRIES = 20


def _decode(raw: dict[bytes, bytes]) -> Circuit:
    if not raw:
        return Circuit()
    values = {name.decode(): value.decode() for name, value in raw.items()}
    return Circuit(
        state=CircuitState(values.get("state", CircuitState.CLOSED)),
        until=float(values.get("until", 0)),
        reason=values.get("reason", ""),
        trips=int(values.get("trips", 0)),
        window_start=float(values.get("window_start", 0)),
        calls=int(values.get("calls", 0)),
        failures=int(values.get("failures", 0)),
        probe=values.get("probe", ""),
        probe_until=float(values.get("probe_until", 0)),
    )


def _encode(circuit: Circuit) -> dict[str | bytes, str]:
    return {name: str(value) for name, value in asdict(circuit).items()}


@dataclass(frozen=True)
class Change:
    """A circuit before and after one outcome."""

    before: Circuit
    after: Circuit

    @property
    def closed_now(self) -> bool:
        """True when this outcome closed a circuit that was open or half-open."""
        return (
            self.before.state is not CircuitState.CLOSED and self.after.state is CircuitState.CLOSED
        )

    @property
    def opened_now(self) -> bool:
        """True when this outcome opened the circuit (a trip, or a failed probe)."""
        return self.after.state is CircuitState.OPEN and self.after.trips != self.before.trips


class Breakers:
    """Every (provider, key) circuit, in Redis."""

    def __init__(
        self,
        client: redis.Redis[bytes],
        policy: BreakerPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.policy = policy or BreakerPolicy()
        self.clock = clock

    def get(self, provider: str, key_id: str) -> Circuit:
        """The key's circuit (closed when never seen)."""
        return _decode(self.client.hgetall(redis_keys.breaker(str(provider), key_id)))

    def get_many(self, pairs: Sequence[tuple[str, str]]) -> list[Circuit]:
        """The circuits of ``pairs`` of (provider, key id), in one round trip."""
        pipe = self.client.pipeline(transaction=False)
        for provider, key in pairs:
            pipe.hgetall(redis_keys.breaker(str(provider), key))
        return [_decode(raw) for raw in pipe.execute()]

    def admit(self, provider: str, key_id: str, holder: str) -> bool:
        """Whether ``holder`` may submit on the key now (half-open: it becomes the probe)."""
        name = redis_keys.breaker(str(provider), key_id)
        for _ in range(RETRIES):
            with self.client.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(name)
                    before = _decode(cast(dict[bytes, bytes], pipe.hgetall(name)))
                    after = admit(before, holder, self.clock(), self.policy)
                    if after is None or after == before:
                        return after is not None
                    pipe.multi()
                    pipe.hset(name, mapping=_encode(after))
                    pipe.execute()
                    return True
                except redis.WatchError:
                    continue
        return False

    def record(
        self,
        provider: str,
        key_id: str,
        outcome: Outcome,
        *,
        retry_after_s: float | None = None,
        detail: str = "",
    ) -> Change:
        """Feed one submit's outcome to the key's circuit; return it before and after."""
        name = redis_keys.breaker(str(provider), key_id)
        while True:
            with self.client.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(name)
                    before = _decode(cast(dict[bytes, bytes], pipe.hgetall(name)))
                    after = record(
                        before,
                        outcome,
                        self.clock(),
                        self.policy,
                        retry_after_s=retry_after_s,
                        detail=detail,
                    )
                    if after != before:
                        pipe.multi()
                        pipe.delete(name)
                        pipe.hset(name, mapping=_encode(after))
                        pipe.execute()
                    return Change(before, after)
                except redis.WatchError:
                    continue

    def claim_timer(self, provider: str, key_id: str, holder: str, ttl_s: float) -> bool:
        """Make ``holder`` the job whose delayed submit probes the key (one per circuit)."""
        name = redis_keys.breaker_timer(str(provider), key_id)
        ttl_ms = max(int(ttl_s * 1000), 1)
        if self.client.set(name, holder, nx=True, px=ttl_ms):
            return True
        return self.client.get(name) == holder.encode()

    def wait(self, job_id: str, deadline: float) -> None:
        """Put ``job_id`` among the jobs waiting out an outage."""
        self.client.zadd(redis_keys.outage_waiting(), {job_id: deadline})

    def stop_waiting(self, job_id: str) -> None:
        """Take ``job_id`` off the waiting list (it found somewhere to go)."""
        self.client.zrem(redis_keys.outage_waiting(), job_id)

    def take_waiting(self, limit: int = 10_000) -> list[str]:
        """Remove and return the waiting jobs (a circuit closed: they may go now)."""
        raw = self.client.zpopmin(redis_keys.outage_waiting(), limit)
        return [member.decode() for member, _score in raw]

    def waiting(self) -> int:
        """How many jobs wait out an outage."""
        return int(self.client.zcard(redis_keys.outage_waiting()))
