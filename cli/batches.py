"""`restyle submit`, `batches`, `status`, `cancel`, `retry` and `report`: batches end to end."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypedDict

import typer
from rich.table import Table

from cli.common import console, fail, redis_answers, redis_client, settings_or_exit
from cli.dry_run import print_plan, print_result
from cli.progress import watch
from config.redaction import Redactor
from config.settings import Settings
from jobs.batches import BatchStore
from jobs.budget import Budget
from jobs.clips.record import ClipState, Continuity, OutputSize
from jobs.clips.store import ClipStore
from jobs.ledger import Ledger
from jobs.models import Priority
from jobs.routes import Policy
from jobs.states import TERMINAL_STATES, JobState
from pipeline.cancelling import cancel_job
from pipeline.clips.admin import cancel_clips, reopen_clips
from pipeline.context import Context
from pipeline.requeueing import requeue
from producer.batch import SubmitError, SubmitOptions
from producer.library import SourceError
from producer.manifest import ManifestProblems
from producer.report import build_rows
from producer.report_html import frame_grab, write_report
from producer.run import enqueue_plan, plan_source
from storage.s3 import s3_client
from workers.factory import outbox

Source = Annotated[
    str, typer.Argument(help="CSV/JSONL manifest, s3://bucket/prefix/, or a file/folder")
]
BatchName = Annotated[str, typer.Argument(help="batch name")]


def submit(
    source: Source,
    prompt: Annotated[str | None, typer.Option(help="edit instruction (or per row)")] = None,
    provider: Annotated[
        str | None, typer.Option(help="provider, list in order of preference, or auto (or per row)")
    ] = None,
    policy: Annotated[Policy, typer.Option(help="how to pick among eligible providers")] = (
        Policy.CHEAPEST
    ),
    max_price_per_second: Annotated[
        float | None, typer.Option(help="refuse providers dearer than this, USD per output second")
    ] = None,
    aspect_ratio: Annotated[str | None, typer.Option(help="16:9 9:16 4:3 3:4 1:1 21:9")] = None,
    seed: Annotated[int | None, typer.Option()] = None,
    reference_image: Annotated[str | None, typer.Option(help="reference image URL")] = None,
    batch: Annotated[str | None, typer.Option(help="batch name (default: from SOURCE)")] = None,
    budget: Annotated[float | None, typer.Option(help="USD the batch may spend")] = None,
    priority: Annotated[Priority, typer.Option()] = Priority.BULK,
    output: Annotated[str | None, typer.Option(help="s3://bucket/prefix for outputs")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the plan only")] = False,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="queue the valid rows")
    ] = False,
    strict_columns: Annotated[
        bool, typer.Option("--strict-columns", help="refuse unknown manifest columns")
    ] = False,
    max_seconds: Annotated[
        float | None,
        typer.Option(help="edit only the first S seconds of each source (default: all of it)"),
    ] = None,
    continuity: Annotated[
        Continuity | None,
        typer.Option(help="anchor: segment 1's frame guides the rest; none: all at once"),
    ] = None,
    output_size: Annotated[
        OutputSize, typer.Option(help="stitched size: the source's, or the model's own")
    ] = OutputSize.SOURCE,
    mix_providers: Annotated[
        bool,
        typer.Option(
            "--mix-providers",
            help="route each segment of a long clip on its own (its renders may differ)",
        ),
    ] = False,
) -> None:
    """Preflight SOURCE, then queue one edit job per clip (nothing is queued if a row is bad)."""
    settings = settings_or_exit()
    options = SubmitOptions(
        prompt=prompt,
        provider=provider,
        aspect_ratio=aspect_ratio,
        seed=seed,
        reference_image=reference_image,
        batch=batch,
        budget_usd=budget,
        priority=priority,
        output=output,
        dry_run=dry_run,
        skip_invalid=skip_invalid,
        strict_columns=strict_columns,
        max_seconds=max_seconds,
        continuity=continuity,
        output_size=output_size,
        mix_providers=mix_providers,
        policy=policy,
        max_price_per_second=max_price_per_second,
    )
    now = datetime.now(UTC)
    try:
        plan = plan_source(source, options, settings, now)
    except (SourceError, ManifestProblems, SubmitError) as exc:
        raise fail(str(exc), 2) from None
    print_plan(plan)
    if dry_run:
        raise typer.Exit(1 if plan.problems or plan.over_budget else 0)
    client = redis_client(settings)
    send = outbox(settings)
    try:
        result = enqueue_plan(plan, settings, client, send.jobs, now, send.clips)
    except SubmitError as exc:
        raise fail(str(exc), 1) from None
    print_result(result)


def batches() -> None:
    """List batches with their progress and spend."""
    settings = settings_or_exit()
    client = redis_client(settings)
    ledger, budget = Ledger.from_settings(settings, client), Budget(client)
    records = {record.name: record for record in BatchStore(client).list()}
    table = Table("batch", "created", "priority", "jobs", "stored", "failed", "active", "spent")
    for name in sorted(set(records) | set(ledger.batches())):
        counts = ledger.batch_counts(name)
        record = records.get(name)
        table.add_row(
            name,
            record.created_at.isoformat(timespec="minutes") if record else "-",
            record.priority.value if record else "-",
            str(sum(counts.values())),
            str(counts[JobState.STORED]),
            str(counts[JobState.FAILED] + counts[JobState.EXPIRED]),
            str(sum(n for state, n in counts.items() if state not in TERMINAL_STATES)),
            f"${budget.spent(name):.2f}",
        )
    console.print(table)


def status(
    batch: Annotated[str | None, typer.Argument(help="batch name (all batches if omitted)")] = None,
    watch_: Annotated[bool, typer.Option("--watch", help="follow live until done")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Show a batch's jobs by state, spend and budget (live with --watch)."""
    if batch is None:
        batches()
        return
    settings = settings_or_exit()
    client = redis_client(settings)
    ledger = Ledger.from_settings(settings, client)
    _ids_or_exit(ledger, batch)
    if watch_ and not as_json:
        watch(ledger, batch)
    summary = status_summary(ledger, Budget(client), batch)
    if as_json:
        console.print_json(json.dumps(summary))
        return
    table = Table("state", "jobs", box=None)
    for state in JobState:
        if summary["states"][state.value]:
            table.add_row(state.value, str(summary["states"][state.value]))
    console.print(table)
    if summary["clips"]:
        clips = ", ".join(f"{n} {state}" for state, n in summary["clips"].items() if n)
        console.print(f"clips: {clips}; {summary['segments']} segments, "
                      f"{summary['billed_seconds']:.1f} s billed")  # fmt: skip
    limit = summary["budget_usd"]
    spent = f"spent ${summary['spent_usd']:.2f}" + (f" of ${limit:.2f}" if limit else "")
    if summary["possible_double_charges"]:
        spent += (
            f"; {summary['possible_double_charges']} possible double charge(s), "
            f"${summary['possible_double_charge_usd']:.2f}, counted in the spend"
        )
    console.print(spent)


class StatusSummary(TypedDict):
    """What ``restyle status BATCH --json`` prints."""

    batch: str
    jobs: int
    finished: int
    states: dict[str, int]
    spent_usd: float
    reserved_usd: float
    budget_usd: float | None
    possible_double_charges: int
    possible_double_charge_usd: float
    clips: dict[str, int]
    segments: int
    billed_seconds: float


def status_summary(ledger: Ledger, budget: Budget, batch: str) -> StatusSummary:
    """A batch's counts by state (jobs include clips' segments), clips and their money."""
    counts = ledger.batch_counts(batch)
    money = budget.status(batch)
    doubled = [
        job for job in ledger.get_many(ledger.batch_ids(batch)) if job.possible_double_charges
    ]
    store = ClipStore(ledger.client)
    clips = store.get_many(store.batch_ids(batch))
    segments = [ref for clip in clips for ref in clip.segments]
    return StatusSummary(
        clips={state.value: sum(clip.state is state for clip in clips) for state in ClipState},
        segments=len(segments),
        billed_seconds=round(sum(ref.seconds for ref in segments), 3),
        batch=batch,
        jobs=sum(counts.values()),
        finished=sum(counts[state] for state in TERMINAL_STATES),
        states={state.value: count for state, count in counts.items()},
        spent_usd=money.spent_usd,
        reserved_usd=money.reserved_usd,
        budget_usd=money.limit_usd,
        possible_double_charges=sum(job.possible_double_charges for job in doubled),
        possible_double_charge_usd=round(sum(j.possible_double_charge_usd for j in doubled), 4),
    )


def cancel(batch: BatchName) -> None:
    """Cancel a batch: queued jobs are never sent; running ones are cancelled where possible."""
    settings = settings_or_exit()
    redis_answers(settings)
    ctx = Context.from_settings(settings)
    outcomes: dict[str, int] = {}
    now = datetime.now(UTC)
    ids = _ids_or_exit(ctx.ledger, batch)
    clips = cancel_clips(ctx.clips, batch, now)
    for job_id in ids:
        outcome = cancel_job(ctx, job_id, now)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    if clips:
        console.print(f"{clips:>6}  clips cancelled")
    for outcome, count in sorted(outcomes.items()):
        console.print(f"{count:>6}  {outcome}")


def retry(
    batch: BatchName,
    failed: Annotated[bool, typer.Option("--failed", help="retry FAILED jobs")] = False,
    expired: Annotated[bool, typer.Option("--expired", help="retry EXPIRED jobs")] = False,
) -> None:
    """Queue a batch's FAILED and/or EXPIRED jobs again (both when neither flag is given)."""
    settings = settings_or_exit()
    client = redis_client(settings)
    ledger = Ledger.from_settings(settings, client)
    wanted = {JobState.FAILED} if failed else set()
    wanted |= {JobState.EXPIRED} if expired else set()
    wanted = wanted or {JobState.FAILED, JobState.EXPIRED}
    now = datetime.now(UTC)
    jobs = [job for job in ledger.get_many(_ids_or_exit(ledger, batch)) if job.state in wanted]
    clips = ClipStore(client)
    # Clips first: a retried segment stored at once must find its clip open again.
    clip_steps = reopen_clips(clips, clips.batch_ids(batch), now)
    requeued = [new for job in jobs if (new := requeue(ledger, job, now)) is not None]
    send = outbox(settings)
    send.jobs([job for job in requeued if not job.awaits_anchor])
    send.clip_steps(clip_steps)
    console.print(f"requeued {len(requeued)} of {len(jobs)} job(s) in {batch}")


def report(
    batch: BatchName,
    fmt: Annotated[str, typer.Option("--format", help="html, csv or json")] = "html",
    out: Annotated[Path | None, typer.Option("-o", "--output", help="file to write")] = None,
) -> None:
    """Write a batch report (the HTML one has before/after frames per job)."""
    if fmt not in ("html", "csv", "json"):
        raise fail(f"--format {fmt!r}: use html, csv or json", 2)
    settings = settings_or_exit()
    path = write_batch_report(settings, batch, fmt, out or Path(f"{batch}-report.{fmt}"))
    console.print(f"report: {path.resolve()}")


def write_batch_report(settings: Settings, batch: str, fmt: str, path: Path) -> Path:
    """Write ``batch``'s report in ``fmt`` to ``path`` (shared with the demo)."""
    ledger = Ledger.from_settings(settings, redis_client(settings))
    scrub = Redactor.from_settings(settings)
    clips = ClipStore(ledger.client)
    jobs = [job.redacted(scrub) for job in ledger.get_many(_ids_or_exit(ledger, batch))]
    rows = build_rows(jobs, clips.get_many(clips.batch_ids(batch)))
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_report(rows, fmt, path, frame_grab(s3_client(settings)), title=f"restyle: {batch}")


def _ids_or_exit(ledger: Ledger, batch: str) -> list[str]:
    ids = ledger.batch_ids(batch)
    if not ids and not ClipStore(ledger.client).batch_ids(batch):
        raise fail(f"no batch {batch}")
    return ids
