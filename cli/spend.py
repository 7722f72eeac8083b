"""``restyle spend <batch>``: estimated against billed money, per provider and per UTC day."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Annotated

import typer
from rich.table import Table

from cli.common import console, redis_client, settings_or_exit
from config.catalogue import CATALOGUE
from config.settings import ProviderName
from jobs.budget import Budget


@dataclass(frozen=True)
class SpendRow:
    """One provider's money on one day. ``estimated_usd``: every estimate committed when a job
    was accepted; ``billed_usd``: the bills received; ``spent_usd``: the best figure (the bill
    where one came, the estimate elsewhere); ``basis``: billed, estimated or mixed."""

    day: str
    provider: str
    estimated_usd: float
    billed_usd: float
    spent_usd: float
    basis: str


def spend_rows(found: dict[tuple[str, str], dict[str, float]]) -> list[SpendRow]:
    """The rows of `Budget.spend_rows`, by day then provider (pure)."""
    rows = []
    for (day, provider), money in sorted(found.items()):
        estimated, billed = money.get("estimated", 0.0), money.get("billed", 0.0)
        replaced = money.get("replaced", 0.0)
        unbilled = max(estimated - replaced, 0.0)
        basis = "billed" if unbilled < 1e-6 else "estimated" if replaced < 1e-6 else "mixed"
        spent = round(unbilled + billed, 6)
        rows.append(SpendRow(day, provider, round(estimated, 6), round(billed, 6), spent, basis))
    return rows


def _reports(provider: str) -> str:
    try:
        return "bills" if CATALOGUE[ProviderName(provider)].reports_cost else "no bills"
    except ValueError:
        return "?"


def spend(
    batch: Annotated[str, typer.Argument(help="batch name")],
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Estimated against billed spend of a batch, per provider and per day."""
    settings = settings_or_exit()
    rows = spend_rows(Budget(redis_client(settings)).spend_rows(batch))
    if as_json:
        console.print_json(json.dumps([asdict(row) for row in rows]))
        return
    table = Table("day", "provider", "estimated", "billed", "spent", "basis", title=f"{batch}")
    for row in rows:
        table.add_row(row.day, f"{row.provider} ({_reports(row.provider)})",
                      f"${row.estimated_usd:.2f}", f"${row.billed_usd:.2f}",
                      f"${row.spent_usd:.2f}", row.basis)  # fmt: skip
    total = sum(row.spent_usd for row in rows)
    billed = sum(row.billed_usd for row in rows)
    table.add_row("[bold]total", "", f"${sum(r.estimated_usd for r in rows):.2f}",
                  f"${billed:.2f}", f"${total:.2f}", "")  # fmt: skip
    console.print(table)
