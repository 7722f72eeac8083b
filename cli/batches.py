"""`restyle submit`, `batches`, `status`, `cancel`, `retry` and `report`: batches end to end."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypedDict

import typer
from rich.table import Table

from cli.common import console, fail, redis_answers, redis_client, settings_or_exit, shown
from cli.dry_run import print_plan, print_result
from cli.progress import watch
from config.redaction import Redactor
from config.settings import Settings
from jobs.batches import BatchStore
from jobs.budget import Budget, spend_parts
from jobs.clips.record import ClipState, Continuity, OutputSize
from jobs.clips.store import ClipStore
from jobs.ledger import Ledger
from jobs.models import Priority
from jobs.quality import QcEnd, QcPolicy
from jobs.routes import Policy
from jobs.states import JobState
from media.thumbnails import read_thumbnail
from pipeline.context import Context
from pipeline.operations.cancelling import cancel_batch
from pipeline.operations.retrying import retry_batch
from producer.batch import SubmitError, SubmitOptions
from producer.library import SourceError
from producer.manifest import ManifestProblems
from producer.numbers import batch_tally, read_facts
from producer.report import build_rows
from producer.report_html import frame_grab, size_text, write_report
from producer.run import enqueue_plan, plan_source
from producer.tally import tally
from producer.timelines.ranges import HANDLES, MERGE_GAP_S, TimelineChoices
from storage.fetching import fetch_client
from storage.s3 import s3_client
from workers.factory import outbox, publish

Source = Annotated[
    str,
    typer.Argument(
        help="CSV/JSONL manifest, timeline (.otio, .edl, .xml), s3://bucket/prefix/, or a"
        " file/folder"
    ),
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
    qc_retries: Annotated[
        int,
        typer.Option(
            min=0,
            max=5,
            help="paid re-runs of an output that fails its checks (black, frozen, ...)",
        ),
    ] = 1,
    qc_policy: Annotated[
        QcEnd,
        typer.Option(help="an output still failing its checks: fail the job, or store it flagged"),
    ] = QcEnd.FAIL,
    overlap_frames: Annotated[
        int | None,
        typer.Option(
            min=0, max=120, help="frames crossfaded at each seam (default RESTYLE_SEAMS__...)"
        ),
    ] = None,
    colour_match: Annotated[
        bool | None,
        typer.Option(
            "--colour-match/--no-colour-match",
            help="match every segment's colours to the first's when stitching",
        ),
    ] = None,
    handles: Annotated[
        int, typer.Option(min=0, help="timeline: frames edited beyond each shot's in and out")
    ] = HANDLES,
    merge_gap: Annotated[
        float,
        typer.Option(min=0.0, help="timeline: edit ranges of one source this close (s) as one"),
    ] = MERGE_GAP_S,
    media_path: Annotated[
        list[str] | None,
        typer.Option(help="timeline: a folder or s3:// prefix its media is looked for in"),
    ] = None,
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
        overlap_frames=overlap_frames,
        colour_match=colour_match,
        policy=policy,
        max_price_per_second=max_price_per_second,
        qc=QcPolicy(retries=qc_retries, end=qc_policy),
        timeline=TimelineChoices(handles, merge_gap, tuple(media_path or ())),
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
    """List batches, newest first, with their items' progress and spend."""
    settings = settings_or_exit()
    client = redis_client(settings)
    ledger, budget = Ledger.from_settings(settings, client), Budget(client)
    records = {record.name: record for record in BatchStore(client).list()}
    names = set(records) | set(ledger.batches())

    def created(name: str) -> float:
        record = records.get(name)
        return record.created_at.timestamp() if record else 0.0

    table = Table("batch", "created (UTC)", "priority", "items", "finished", "stored", "failed",
                  "active", "segments", "spent")  # fmt: skip
    for name in sorted(names, key=lambda name: (created(name), name), reverse=True):
        counted = batch_tally(ledger, name)
        record = records.get(name)
        by_state = counted.items_by_state
        table.add_row(
            shown(name),
            record.created_at.isoformat(sep=" ", timespec="minutes") if record else "-",
            record.priority.value if record else "-",
            str(counted.items),
            str(counted.items_finished),
            str(by_state.get("STORED", 0)),
            str(by_state.get("FAILED", 0) + by_state.get("EXPIRED", 0)),
            str(counted.items - counted.items_finished),
            f"{counted.segments_finished}/{counted.segments}" if counted.clips else "-",
            f"${budget.spent(name):.2f}",
        )
    console.print(table)


def status(
    batch: Annotated[str | None, typer.Argument(help="batch name (all batches if omitted)")] = None,
    watch_: Annotated[bool, typer.Option("--watch", help="follow live until done")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Show a batch's items (whole clips and single jobs), segments, jobs by state, cost and
    spend (live with --watch, until every item has ended)."""
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
    for line in status_lines(summary):
        console.print(line, highlight=False)


def status_lines(summary: StatusSummary) -> list[str]:
    """`restyle status`'s plain lines (one idea each, never cut)."""
    items = summary["items_by_state"]
    lines = [
        f"items: {summary['items_finished']}/{summary['items']} finished "
        f"({summary['clips_total']} clip(s), {summary['single_jobs']} job(s)): "
        + (", ".join(f"{state} {n}" for state, n in items.items()) or "-")
    ]
    if summary["clips_total"]:
        clips = ", ".join(f"{n} {state}" for state, n in summary["clips"].items() if n)
        segments = f"{summary['segments_finished']}/{summary['segments']}"
        billed = f"{summary['billed_seconds']:.1f} s billed"
        lines.append(f"clips: {clips}; segments {segments} finished, {billed}")
    jobs = ", ".join(f"{state} {n}" for state, n in summary["states"].items() if n)
    lines.append(f"jobs: {summary['finished']}/{summary['jobs']} finished: {jobs or '-'}")
    limit = summary["budget_usd"]
    money = f"cost ${summary['cost_usd']:.2f} (estimates of the jobs providers accepted); "
    money += f"spent ${summary['spent_usd']:.2f}" + (f" of ${limit:.2f}" if limit else "")
    parts = spend_parts(summary["spent_usd"], summary["billed_usd"], summary["ceiling_usd"])
    money += f" ({parts})"
    if summary["possible_double_charges"]:
        money += (
            f"; {summary['possible_double_charges']} possible double charge(s), "
            f"${summary['possible_double_charge_usd']:.2f}, counted in the spend"
        )
    lines.append(money)
    lines.append(f"stored: {size_text(summary['stored_bytes'])} ({summary['stored_bytes']} bytes)")
    return lines


class StatusSummary(TypedDict):
    """What ``restyle status BATCH --json`` prints: the batch's `Tally` (items, clips,
    segments, jobs, cost, stored bytes), plus its budget."""

    batch: str
    items: int
    items_finished: int
    items_by_state: dict[str, int]
    done: bool
    clips_total: int
    clips: dict[str, int]
    single_jobs: int
    segments: int
    segments_finished: int
    billed_seconds: float
    jobs: int
    finished: int
    states: dict[str, int]
    cost_usd: float
    spent_usd: float
    reserved_usd: float
    budget_usd: float | None
    billed_usd: float
    """The part of ``spent_usd`` the providers billed; the rest is estimated."""
    ceiling_usd: float
    """The part of ``spent_usd`` counted at the most a provider said a running job may charge."""
    possible_double_charges: int
    possible_double_charge_usd: float
    stored_bytes: int


def status_summary(ledger: Ledger, budget: Budget, batch: str) -> StatusSummary:
    """A batch's numbers (`producer.tally`, as the reports and the dashboard count them)."""
    money = budget.status(batch)
    store = ClipStore(ledger.client)
    clips = store.get_many(store.batch_ids(batch))
    counted = tally(clips, read_facts(ledger.client, ledger.batch_ids(batch)))
    return StatusSummary(
        batch=batch,
        items=counted.items,
        items_finished=counted.items_finished,
        items_by_state=counted.items_by_state,
        done=counted.done,
        clips_total=counted.clips,
        clips={state.value: counted.clips_by_state.get(state.value, 0) for state in ClipState},
        single_jobs=counted.single_jobs,
        segments=counted.segments,
        segments_finished=counted.segments_finished,
        billed_seconds=round(sum(ref.seconds for clip in clips for ref in clip.segments), 3),
        jobs=counted.jobs,
        finished=counted.jobs_finished,
        states={state.value: counted.jobs_by_state.get(state.value, 0) for state in JobState},
        cost_usd=counted.cost_usd,
        spent_usd=money.spent_usd,
        billed_usd=money.billed_usd,
        ceiling_usd=money.ceiling_usd,
        reserved_usd=money.reserved_usd,
        budget_usd=money.limit_usd,
        possible_double_charges=counted.double_charges,
        possible_double_charge_usd=counted.double_charge_usd,
        stored_bytes=counted.stored_bytes,
    )


def cancel(batch: BatchName) -> None:
    """Cancel a batch: queued jobs are never sent; running ones are cancelled where possible."""
    settings = settings_or_exit()
    redis_answers(settings)
    ctx = Context.from_settings(settings)
    _ids_or_exit(ctx.ledger, batch)
    clips, outcomes = cancel_batch(ctx, batch, datetime.now(UTC))
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
    _ids_or_exit(ledger, batch)
    wanted = {JobState.FAILED} if failed else set()
    wanted |= {JobState.EXPIRED} if expired else set()
    wanted = wanted or {JobState.FAILED, JobState.EXPIRED}
    outcome = retry_batch(ledger, ClipStore(client), batch, datetime.now(UTC), wanted)
    publish(outbox(settings), outcome.sends)
    console.print(outcome.message)


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
    console.print(f"report: {shown(path.resolve())}")


def write_batch_report(settings: Settings, batch: str, fmt: str, path: Path) -> Path:
    """Write ``batch``'s report in ``fmt`` to ``path`` (shared with the demo)."""
    ledger = Ledger.from_settings(settings, redis_client(settings))
    scrub = Redactor.from_settings(settings)
    clips = ClipStore(ledger.client)
    jobs = [job.redacted(scrub) for job in ledger.get_many(_ids_or_exit(ledger, batch))]
    rows = build_rows(jobs, clips.get_many(clips.batch_ids(batch)))
    path.parent.mkdir(parents=True, exist_ok=True)
    s3 = s3_client(settings)

    def stored(output_uri: str, name: str) -> bytes | None:
        return read_thumbnail(s3, output_uri, name)

    with fetch_client(settings) as http:
        grab = frame_grab(s3, http=http)
        return write_report(rows, fmt, path, grab, f"restyle: {batch}", stored)


def _ids_or_exit(ledger: Ledger, batch: str) -> list[str]:
    ids = ledger.batch_ids(batch)
    if not ids and not ClipStore(ledger.client).batch_ids(batch):
        raise fail(f"no batch {batch}")
    return ids
