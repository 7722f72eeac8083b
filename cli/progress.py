"""Live progress of one batch from the ledger's per-state counts (used by status and the demo)."""

from __future__ import annotations

import time

import redis
from rich.console import Group
from rich.live import Live
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from cli.common import console, shown
from jobs.budget import Budget
from jobs.clips.store import ClipStore
from jobs.ledger import Ledger
from jobs.progress import SHOWN_STATES, Snapshot, eta_s


def snapshot(ledger: Ledger, batch: str) -> Snapshot:
    """The batch's job counts and its clips' progress, now."""
    store = ClipStore(ledger.client)
    clips = store.get_many(store.batch_ids(batch))
    open_clips = sum(not clip.state.terminal for clip in clips)
    return Snapshot(time.monotonic(), ledger.batch_counts(batch), len(clips), open_clips)


def render(batch: str, first: Snapshot, last: Snapshot, spent_usd: float = 0.0) -> Group:
    """Bars per state, throughput, ETA and spend so far."""
    bars = Progress(
        TextColumn("{task.description:>10}"),
        BarColumn(bar_width=40),
        TextColumn("{task.completed:>6.0f}/{task.total:.0f}"),
    )
    total = max(last.total, 1)
    for state in SHOWN_STATES:
        bars.add_task(state.value, total=total, completed=last.counts.get(state, 0))
    elapsed = max(last.at - first.at, 1e-9)
    rate = (last.finished - first.finished) / elapsed
    remaining = eta_s(first, last)
    summary = Table.grid(padding=(0, 2))
    summary.add_row(
        f"[bold]{shown(batch)}[/]",
        f"{last.finished}/{last.total} finished"
        + (f", {last.clips - last.open_clips}/{last.clips} clips" if last.clips else ""),
        f"{rate * 60:.1f} jobs/min",
        f"ETA {remaining:.0f}s" if remaining is not None else "ETA -",
        f"spent ${spent_usd:.2f}",
    )
    return Group(summary, bars)


def watch(
    ledger: Ledger, batch: str, interval_s: float = 0.5, timeout_s: float | None = None
) -> Snapshot:
    """Show live progress until every job of ``batch`` is finished (or the timeout)."""
    budget = Budget(ledger.client)
    first = snapshot(ledger, batch)
    last = first
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    with Live(render(batch, first, last), console=console, refresh_per_second=4) as live:
        while not last.settled:
            if deadline is not None and time.monotonic() > deadline:
                break
            time.sleep(interval_s)
            try:
                last = snapshot(ledger, batch)
                spent = budget.spent(batch)
            except (redis.ConnectionError, redis.TimeoutError):
                # Past the client's own retries (a long outage): keep the last figures on
                # screen and ask again, as the workers do, rather than end the watch.
                continue
            live.update(render(batch, first, last, spent))
    return last
