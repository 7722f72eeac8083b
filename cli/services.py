"""`restyle providers`, `restyle limits` and `restyle emulator`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cli.circuits import breakers_or_none, circuit_text
from cli.common import console, redis_client, settings_or_exit
from config.catalogue import CATALOGUE, Price, provider_spec
from config.settings import ProviderName, key_id
from jobs.limits.breaker_store import Breakers
from jobs.limits.limiter import KeyLimits, Limiter
from jobs.limits.tiers import KeyTier, seeded
from pipeline.routing.tier_reading import learn_tiers
from providers.registry import describe


def providers() -> None:
    """List the provider catalogue and which providers are configured (never the keys)."""
    table = Table(
        "provider",
        "configured",
        "keys",
        "base URL",
        "concurrency",
        "rate/s",
        "price",
        "retention",
        "ratios",
        "circuit",
    )
    settings = settings_or_exit()
    breakers = breakers_or_none(settings)
    for row in describe(settings):
        table.add_row(
            row.name.value,
            "yes" if row.configured else "no",
            ", ".join(row.key_ids) or "-",
            row.base_url,
            str(row.concurrency),
            f"{row.rate_per_s:g}",
            _price(row.price),
            f"{row.retention_s / 3600:g} h",
            " ".join(row.ratios),
            circuit_text(breakers, row.name, row.key_ids),
        )
    console.print(table)


def _price(price: Price) -> str:
    parts = [f"${price.per_second_usd:g}/s"] if price.per_second_usd else []
    parts += [f"${price.per_run_usd:g}/run"] if price.per_run_usd else []
    parts += [f"min ${price.minimum_usd:g}"] if price.minimum_usd else []
    return " ".join(parts)


def limits() -> None:
    """Show each configured key's limiter state (in flight, effective rate, cooldown) and its
    circuit breaker (closed, open and why, half-open)."""
    settings = settings_or_exit()
    client = redis_client(settings)
    limiter, breakers = Limiter(client), Breakers(client)
    learned = learn_tiers(settings, client)
    table = Table("provider", "key", "in flight", "parked", "concurrency", "daily cap",
                  "effective rate/s", "cooldown s", "circuit")  # fmt: skip
    for name in ProviderName:
        spec = provider_spec(name, settings)
        block = settings.provider(name)
        keys = [(key, "") for key in block.api_keys] + [
            (k, " (retired)") for k in block.retired_api_keys
        ]
        for key, note in keys:
            tier = learned.get((name.value, key_id(key)))
            read = tier is not None
            reported = tier or KeyTier()
            concurrency, from_c = seeded(reported.concurrency, block.concurrency,
                                         CATALOGUE[name].concurrency, read)  # fmt: skip
            daily, from_d = seeded(reported.daily_generations, block.daily_generations,
                                   CATALOGUE[name].daily_generations, read)  # fmt: skip
            concurrency = concurrency or spec.concurrency
            key_limits = KeyLimits(concurrency=concurrency, rate_per_s=spec.rate_per_s)
            snap = limiter.snapshot(name, key_id(key), key_limits)
            table.add_row(
                name.value,
                key_id(key) + note,
                str(snap.get("in_flight", "?")),
                str(snap.get("parked", 0)),
                f"{concurrency} ({from_c})",
                f"{'-' if daily is None else daily} ({from_d})",
                f"{snap.get('effective_rate', 0):.2f}",
                f"{snap.get('cooldown_remaining', 0):.1f}",
                circuit_text(breakers, name, [key_id(key)]),
            )
    console.print(table)
    waiting = breakers.waiting()
    if waiting:
        console.print(f"{waiting} job(s) waiting out an outage (no provider of theirs open)")


def emulator(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8900,
) -> None:
    """Run the provider emulator (further options as `python -m emulator --help`)."""
    import os

    from emulator.options import parse_options
    from emulator.server import serve

    options = parse_options(["--host", host, "--port", str(port), *ctx.args], os.environ)
    serve(options.host, options.port, options.config)
