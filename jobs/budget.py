"""Per-batch money: reserve before a paid submit, commit when the provider took the job.

Amounts are kept in Redis as integer micro-dollars, so additions never drift. A reservation is
refused when reserved + spent + amount would pass the batch's limit; a batch without a limit
always reserves (its spending is still counted). Our estimate is reserved before the POST; once
the provider accepts, spent counts the most it said the job may charge where it said one
(Runway's ``estimatedCost``, kept apart as ``ceiling``), else our estimate; the bill replaces
either.
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
class Charge:
    """Whose money and when: the ``provider``, the UTC ``day`` (``YYYY-MM-DD``) it is counted
    under, and whether the figure counted so far was the provider's maximum (``ceiling``)."""

    provider: str
    day: str
    ceiling: bool = False


@dataclass(frozen=True)
class BudgetStatus:
    """A batch's money in USD; ``limit_usd`` None when it has no limit.

    ``spent_usd`` is the best figure: the provider's bill for every job that has one, the
    most the provider said it may charge for a job still running where it said one, our
    estimate for the rest. ``billed_usd`` and ``ceiling_usd`` are those parts of it.
    """

    limit_usd: float | None
    reserved_usd: float
    spent_usd: float
    billed_usd: float = 0.0
    ceiling_usd: float = 0.0

    @property
    def estimated_usd(self) -> float:
        """The part of ``spent_usd`` that is our estimate (no bill yet, or none given, and no
        maximum from the provider)."""
        return round(self.spent_usd - self.billed_usd - self.ceiling_usd, 6)

    @property
    def remaining_usd(self) -> float | None:
        if self.limit_usd is None:
            return None
        return self.limit_usd - self.reserved_usd - self.spent_usd


def spend_parts(spent_usd: float, billed_usd: float, ceiling_usd: float = 0.0) -> str:
    """``spent_usd`` told by basis, for status lines and the dashboard (pure)."""
    ceiling = f"${ceiling_usd:.2f} held at the providers' maxima, " if ceiling_usd > 0 else ""
    estimated = max(spent_usd - billed_usd - ceiling_usd, 0.0)  # never "-0.00"
    return f"${billed_usd:.2f} billed, {ceiling}${estimated:.2f} estimated"


class Budget:
    """Atomic reservations against each batch's budget (one Lua script per change)."""

    def __init__(self, client: redis.Redis[bytes]) -> None:
        self.client = client
        self._reserve = load_script(client, "budget_reserve")
        self._settle = load_script(client, "budget_settle")
        self._accept = load_script(client, "budget_accept")

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

    def accept(
        self,
        batch: str,
        charge: Charge,
        estimated_usd: float,
        maximum_usd: float | None = None,
    ) -> None:
        """``charge.provider`` accepted a job (or may have) on ``charge.day``: its reservation of
        ``estimated_usd`` becomes spent money, counted at ``maximum_usd`` where the provider
        said the most it may charge, in one script (counted by provider and day for `restyle
        spend` as well)."""
        counted = estimated_usd if maximum_usd is None else maximum_usd
        field = f"{charge.day}|{charge.provider}|estimated"
        self._accept(
            keys=[redis_keys.budget(batch), redis_keys.spend(batch)],
            args=[max(to_micros(estimated_usd), 0), max(to_micros(counted), 0),
                  int(maximum_usd is not None), field],
        )  # fmt: skip

    def count(self, batch: str, charge: Charge, amount_usd: float) -> None:
        """Count ``amount_usd`` as spent, estimated, without a reservation: a paid job found
        after the fact (`pipeline.double_charges`)."""
        field = f"{charge.day}|{charge.provider}|estimated"
        keys = [redis_keys.budget(batch), redis_keys.spend(batch)]
        self._accept(keys=keys, args=[0, max(to_micros(amount_usd), 0), 0, field])

    def bill(self, batch: str, charge: Charge, counted_usd: float, billed_usd: float) -> None:
        """The provider billed ``billed_usd`` for a job counted at ``counted_usd`` (a maximum
        when ``charge.ceiling``): spent moves by the difference (down to nothing for a refund),
        in one transaction."""
        estimated, billed = to_micros(counted_usd), max(to_micros(billed_usd), 0)
        provider, day = charge.provider, charge.day
        spend = redis_keys.spend(batch)
        pipe = self.client.pipeline(transaction=True)
        pipe.hincrby(redis_keys.budget(batch), "spent", billed - estimated)
        pipe.hincrby(redis_keys.budget(batch), "billed", billed)
        if charge.ceiling:
            pipe.hincrby(redis_keys.budget(batch), "ceiling", -estimated)
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
        limit, reserved, spent, billed, ceiling = self.client.hmget(
            redis_keys.budget(batch), "limit", "reserved", "spent", "billed", "ceiling"
        )
        return BudgetStatus(
            limit_usd=None if limit is None else to_usd(int(limit)),
            reserved_usd=to_usd(int(reserved or 0)),
            spent_usd=to_usd(int(spent or 0)),
            billed_usd=to_usd(int(billed or 0)),
            ceiling_usd=to_usd(int(ceiling or 0)),
        )
