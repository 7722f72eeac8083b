"""Per-batch money: reserve before a paid submit, commit when the provider took the job.

Amounts are kept in Redis as integer micro-dollars, so additions never drift. A reservation is
refused when reserved + spent + amount would pass the batch's limit; a batch without a limit
always reserves (its spending is still counted).
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from jobs import redis_keys
from jobs.scripts import load_script

MICROS_PER_USD = 1_000_000


def to_micros(amount_usd: float) -> int:
    """USD -> integer micro-dollars (rounded)."""
    return round(amount_usd * MICROS_PER_USD)


def to_usd(micros: int) -> float:
    """Integer micro-dollars -> USD."""
    return micros / MICROS_PER_USD


@dataclass(frozen=True)
class BudgetStatus:
    """A batch's money in USD; ``limit_usd`` None when it has no limit.

    ``spent_usd`` is the best figure: the provider's bill for every job that has one, the
    estimate for the rest. ``billed_usd`` is the part of it the providers billed.
    """

    limit_usd: float | None
    reserved_usd: float
    spent_usd: float
    billed_usd: float = 0.0

    @property
    def estimated_usd(self) -> float:
        """The part of ``spent_usd`` that is still an estimate (no bill yet, or none given)."""
        return round(self.spent_usd - self.billed_usd, 6)

    @property
    def remaining_usd(self) -> float | None:
        if self.limit_usd is None:
            return None
        return self.limit_usd - self.reserved_usd - self.spent_usd


class Budget:
    """Atomic reservations against each batch's budget (one Lua script per change)."""

    def __init__(self, client: redis.Redis[bytes]) -> None:
        self.client = client
        self._reserve = load_script(client, "budget_reserve")
        self._settle = load_script(client, "budget_settle")

    def set_limit(self, batch: str, limit_usd: float | None) -> None:
        """Set (or with None remove) the batch's limit."""
        if limit_usd is None:
            self.client.hdel(redis_keys.budget(batch), "limit")
        else:
            self.client.hset(redis_keys.budget(batch), "limit", to_micros(limit_usd))

    def reserve(self, batch: str, amount_usd: float) -> bool:
        """Hold ``amount_usd`` for one job; False when it would pass the batch's limit."""
        micros = to_micros(amount_usd)
        if micros <= 0:
            return True
        return bool(self._reserve(keys=[redis_keys.budget(batch)], args=[micros]))

    def commit(self, batch: str, amount_usd: float) -> None:
        """Turn a reservation into money spent (the provider accepted the paid job)."""
        micros = max(to_micros(amount_usd), 0)
        self._settle(keys=[redis_keys.budget(batch)], args=[micros, micros])

    def release(self, batch: str, amount_usd: float) -> None:
        """Give a reservation back (nothing was spent)."""
        self._settle(keys=[redis_keys.budget(batch)], args=[max(to_micros(amount_usd), 0), 0])

    def record_estimate(self, batch: str, provider: str, day: str, amount_usd: float) -> None:
        """Count ``amount_usd`` committed for a job ``provider`` accepted on ``day`` (UTC
        ``YYYY-MM-DD``), for `restyle spend`."""
        micros = to_micros(amount_usd)
        if micros > 0:
            self.client.hincrby(redis_keys.spend(batch), f"{day}|{provider}|estimated", micros)

    def bill(
        self, batch: str, provider: str, day: str, estimated_usd: float, billed_usd: float
    ) -> None:
        """The provider billed ``billed_usd`` for a job whose ``estimated_usd`` was committed:
        spent moves by the difference (down to nothing for a refund), in one transaction."""
        estimated, billed = to_micros(estimated_usd), max(to_micros(billed_usd), 0)
        spend = redis_keys.spend(batch)
        pipe = self.client.pipeline(transaction=True)
        pipe.hincrby(redis_keys.budget(batch), "spent", billed - estimated)
        pipe.hincrby(redis_keys.budget(batch), "billed", billed)
        pipe.hincrby(spend, f"{day}|{provider}|billed", billed)
        pipe.hincrby(spend, f"{day}|{provider}|replaced", estimated)
        pipe.execute()

    def spend_rows(self, batch: str) -> dict[tuple[str, str], dict[str, float]]:
        """``(day, provider)`` -> ``estimated``, ``billed`` and ``replaced`` in USD."""
        rows: dict[tuple[str, str], dict[str, float]] = {}
        for field, value in self.client.hgetall(redis_keys.spend(batch)).items():
            day, provider, kind = field.decode().split("|", 2)
            rows.setdefault((day, provider), {})[kind] = to_usd(int(value))
        return rows

    def spent(self, batch: str) -> float:
        """USD committed for the batch so far."""
        return self.status(batch).spent_usd

    def status(self, batch: str) -> BudgetStatus:
        """Limit, reserved and spent, in USD."""
        limit, reserved, spent, billed = self.client.hmget(
            redis_keys.budget(batch), "limit", "reserved", "spent", "billed"
        )
        return BudgetStatus(
            limit_usd=None if limit is None else to_usd(int(limit)),
            reserved_usd=to_usd(int(reserved or 0)),
            spent_usd=to_usd(int(spent or 0)),
            billed_usd=to_usd(int(billed or 0)),
        )
