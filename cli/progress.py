"""Live progress of one batch: its items (clips and single jobs, all known at submit time, so
the totals never grow), its segments and its jobs by state (used by status and the demo).

On a terminal the figures are redrawn in place; piped, one plain line is printed each time
they change. The watch ends when every item has ended: a clip still STITCHING has not.
"""

from __future__ import annotations

import time

import redis
from rich.console import Group
from rich.live import Live
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from cli.common import console, shown
from jobs.budget import Budget
from jobs.ledger import Ledger
from jobs.progress import SHOWN_STATES
from producer.numbers import batch_tally
from producer.tally import Tally


def headline(batch: str, counted: Tally, rate_per_min: float, eta_s: float | None,
             spent_usd: float) -> str:  # fmt: skip
    """One line: items finished, segments finished, throughput, ETA, spend."""
    parts = [f"{shown(batch)}: {counted.items_finished}/{counted.items} items finished"]
    if counted.clips:
        parts.append(f"segments {counted.segments_finished}/{counted.segments}")
    parts.append(f"{rate_per_min:.1f} items/min")
    parts.append(f"ETA {eta_s:.0f}s" if eta_s is not None else "ETA -")
    parts.append(f"spent ${spent_usd:.2f}")
    return ", ".join(parts)


def render(line: str, counted: Tally) -> Group:
    """The headline above one bar per job state."""
    bars = Progress(
        TextColumn("{task.description:>10}"),
        BarColumn(bar_width=40),
        TextColumn("{task.completed:>6.0f}/{task.total:.0f}"),
    )
    # Jobs not cut yet are counted too, so the bars' total holds still while cuts run.
    total = max(counted.jobs, counted.segments + counted.single_jobs, 1)
    for state in SHOWN_STATES:
        bars.add_task(state.value, total=total, completed=counted.jobs_by_state.get(state, 0))
    summary = Table.grid()
    summary.add_row(line)
    return Group(summary, bars)


def watch(
    ledger: Ledger, batch: str, interval_s: float = 0.5, timeout_s: float | None = None
) -> Tally:
    """Show live progress until every item of ``batch`` has ended (or the timeout)."""
    budget = Budget(ledger.client)
    started = time.monotonic()
    first = last = batch_tally(ledger, batch)
    deadline = None if timeout_s is None else started + timeout_s
    spent = budget.spent(batch)

    def line() -> str:
        elapsed = time.monotonic() - started
        rate = (last.items_finished - first.items_finished) / elapsed if elapsed > 0 else 0.0
        left = last.items - last.items_finished
        return headline(batch, last, rate * 60, left / rate if rate > 0 else None, spent)

    live = Live(render(line(), last), console=console, refresh_per_second=4) if (
        console.is_terminal) else None  # fmt: skip
    printed = ""
    if live is not None:
        live.start()
    try:
        while not (last.items and last.done):
            if deadline is not None and time.monotonic() > deadline:
                break
            if live is None and line() != printed:
                printed = line()
                console.print(printed)
            time.sleep(interval_s)
            try:
                last, spent = batch_tally(ledger, batch), budget.spent(batch)
            except (redis.ConnectionError, redis.TimeoutError):
                # Past the client's own retries (a long outage): keep the last figures on
                # screen and ask again, as the workers do, rather than end the watch.
                continue
            if live is not None:
                live.update(render(line(), last))
    finally:
        if live is not None:
            live.stop()
    if live is None and line() != printed:
        console.print(line())
    return last
