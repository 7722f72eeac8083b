"""A batch's report rows (one per job, and one per clip above its segments' rows), its totals
(`producer.tally`, the numbers `restyle status` and the dashboard show) and the JSON and CSV.

``cost_usd`` is what a job the provider accepted cost: its bill where the provider sent one
(``cost_basis`` "billed"; $0 for a refund), else its estimate ("estimated"); a job refused
before sending cost nothing. A clip's row carries its roll-up: the cost of its segments, re-runs
included, and the bytes of its stitched output; so the batch's cost is the sum of the rows whose
``kind`` is ``job`` or ``segment`` (a clip row repeats its segments' sum). Timings are in
seconds: ``queue_s`` from creation to the accepted submit, ``run_s`` from there to the
provider's completion, ``total_s`` from creation to the job's final state.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from jobs.clips.record import Clip, ClipState
from jobs.models import Job
from jobs.states import JobState
from media.seams import SeamScore
from producer.tally import ClipFacts, JobFacts, Tally, facts_of, job_cost, rollup, tally


class ReportRow(BaseModel):
    """One job as a reviewer sees it."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    batch: str
    item: str
    source: str
    provider: str
    remote_id: str | None
    state: str
    failure_kind: str | None
    failure_message: str | None
    output_uri: str | None
    size_bytes: int | None
    sha256: str | None
    cost_usd: float
    cost_basis: str = "estimated"
    possible_double_charges: int = 0
    possible_double_charge_usd: float = 0.0
    confirmed_double_charges: int = 0
    """Extra paid remote jobs the provider's own callback named (their bills are in the cost)."""
    confirmed_double_charge_usd: float = 0.0
    source_seconds: float | None
    created_at: datetime
    submitted_at: datetime | None
    completed_at: datetime | None
    finished_at: datetime | None
    queue_s: float | None
    run_s: float | None
    total_s: float | None
    kind: str = "job"
    clip_id: str | None = None
    segment: int | None = None
    seams: tuple[SeamScore, ...] = ()
    """A stitched clip's seam scores (see `media.seams`); in CSV, ``index:ratio/histogram[!]``."""
    segments: int | None = None
    """A clip row: its number of segments (planned until it is cut)."""
    superseded: bool = False
    """A segment row: replaced by a re-run (paid, no longer stitched)."""
    rerun_usd: float = 0.0
    """A clip row: what its superseded segment jobs cost (inside ``cost_usd``)."""


@dataclass(frozen=True)
class Report:
    """A batch's rows in order and its totals."""

    rows: list[ReportRow]
    totals: Tally


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)


def build_row(job: Job) -> ReportRow:
    """The report row of one job."""
    finished = job.updated_at if job.state.terminal else None
    output = job.output
    return ReportRow(
        job_id=job.id,
        batch=job.batch,
        item=job.item,
        source=job.source or job.request.video_url,
        provider=job.provider.value,
        remote_id=job.remote_id,
        state=job.state.value,
        failure_kind=job.failure_kind.value if job.failure_kind else None,
        failure_message=job.failure_message,
        output_uri=output.uri if output else None,
        size_bytes=output.size if output else None,
        sha256=output.sha256 if output else None,
        cost_usd=job_cost(job),
        cost_basis=job.spend_basis,
        possible_double_charges=job.possible_double_charges,
        possible_double_charge_usd=job.possible_double_charge_usd,
        confirmed_double_charges=job.double_charges_confirmed,
        confirmed_double_charge_usd=job.double_charge_billed_usd,
        source_seconds=job.source_seconds,
        created_at=job.created_at,
        submitted_at=job.submitted_at,
        completed_at=job.remote_completed_at,
        finished_at=finished,
        queue_s=_seconds(job.created_at, job.submitted_at),
        run_s=_seconds(job.submitted_at, job.remote_completed_at),
        total_s=_seconds(job.created_at, finished),
        kind="segment" if job.clip_id else "job",
        clip_id=job.clip_id,
        segment=job.segment,
    )


def build_clip_row(clip: Clip, jobs: dict[str, JobFacts] | None = None) -> ReportRow:
    """The report row of a clip: its stitched output, how it ended and what it cost."""
    finished = clip.updated_at if clip.state.terminal else None
    output = clip.output
    money = rollup(clip, jobs or {})
    return ReportRow(
        job_id=clip.id,
        batch=clip.batch,
        item=clip.item,
        source=clip.source,
        provider=",".join(money.providers),
        remote_id=None,
        state=clip.state.value,
        failure_kind=None,
        failure_message=clip.failure_message,
        output_uri=output.uri if output else None,
        size_bytes=output.size if output else None,
        sha256=output.sha256 if output else None,
        cost_usd=money.cost_usd,
        possible_double_charges=money.double_charges,
        possible_double_charge_usd=money.double_charge_usd,
        rerun_usd=money.rerun_usd,
        segments=money.segments,
        source_seconds=clip.edit_seconds,
        created_at=clip.created_at,
        submitted_at=None,
        completed_at=None,
        finished_at=finished,
        queue_s=None,
        run_s=None,
        total_s=_seconds(clip.created_at, finished),
        kind="clip",
        clip_id=clip.id,
        seams=clip.seams,
    )


def build_rows(jobs: Iterable[Job], clips: Iterable[Clip] = ()) -> list[ReportRow]:
    """Report rows of ``jobs`` and ``clips`` in order: by item; a clip's row, then its segments
    in order, then the segment jobs its re-runs replaced."""
    return build_report(jobs, clips).rows


def build_report(jobs: Iterable[Job], clips: Iterable[Clip] = ()) -> Report:
    """The rows in order (see `build_rows`) and the batch's `Tally`."""
    jobs, clips = list(jobs), list(clips)
    facts = {job.id: facts_of(job) for job in jobs}
    by_clip = {clip.id: clip for clip in clips}
    replaced = {job_id for clip in clips for job_id in clip.superseded}
    rows = [build_clip_row(clip, facts) for clip in clips]
    for job in jobs:
        row = build_row(job)
        rows.append(row.model_copy(update={"superseded": True}) if job.id in replaced else row)

    def order(row: ReportRow) -> tuple[str, int, int, int, str]:
        clip = by_clip.get(row.clip_id or "")
        item = clip.item if clip is not None else row.item
        kind = 0 if row.kind != "segment" else 1
        return (item, kind, int(row.superseded), row.segment or 0, row.job_id)

    return Report(rows=sorted(rows, key=order), totals=tally(clips, list(facts.values())))


def totals(rows: Sequence[ReportRow]) -> Tally:
    """The `Tally` of rows made by `build_rows` (the same count as `build_report`'s)."""
    jobs = [facts_of_row(row) for row in rows if row.kind != "clip"]
    current: dict[str, list[str]] = {}
    for row in rows:
        if row.kind == "segment" and row.clip_id and not row.superseded:
            current.setdefault(row.clip_id, []).append(row.job_id)
    clips = [
        ClipFacts(
            id=row.job_id,
            state=ClipState(row.state),
            segments=row.segments or 0,
            segment_ids=tuple(current.get(row.job_id, ())),
            output_bytes=row.size_bytes or 0,
        )
        for row in rows
        if row.kind == "clip"
    ]
    return tally(clips, jobs)


def facts_of_row(row: ReportRow) -> JobFacts:
    """The `JobFacts` of a job's or segment's row."""
    return JobFacts(
        id=row.job_id,
        batch=row.batch,
        item=row.item,
        state=JobState(row.state),
        provider=row.provider,
        failure_kind=row.failure_kind,
        paid=row.cost_usd > 0 or row.remote_id is not None,
        cost_usd=row.cost_usd,
        double_charges=row.possible_double_charges,
        double_charge_usd=row.possible_double_charge_usd,
        stored_bytes=row.size_bytes or 0,
        updated_at=row.created_at.isoformat(),
        clip_id=row.clip_id,
        segment=row.segment,
    )


def write_json(rows: Sequence[ReportRow], path: Path) -> Path:
    """``{"totals": ..., "jobs": [...]}`` at ``path``."""
    body = {
        "totals": totals(rows).as_dict(),
        "jobs": [row.model_dump(mode="json") for row in rows],
    }
    path.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    return path


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet reads as a formula at the start of a cell (CSV injection)."""


def csv_cell(value: object) -> object:
    """``value`` for a CSV cell: text that a spreadsheet would run as a formula (a provider's
    message, an item name from a manifest) gets a leading ``'``, so it is shown, not run."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def seams_cell(seams: Sequence[SeamScore]) -> str:
    """Seam scores in one CSV cell: ``1:1.08/0.043 2:2.91/0.120!`` (``!`` marks flagged)."""
    return " ".join(
        f"{seam.index}:{seam.ratio:g}/{seam.histogram:g}{'!' if seam.flagged else ''}"
        for seam in seams
    )


def write_csv(rows: Sequence[ReportRow], path: Path) -> Path:
    """One line per job, one column per `ReportRow` field (empty for None); text cells that
    would start a formula are quoted (`csv_cell`)."""
    columns = list(ReportRow.model_fields)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            values = row.model_dump(mode="json")
            values["seams"] = seams_cell(row.seams) or None
            writer.writerow(
                {name: "" if values[name] is None else csv_cell(values[name]) for name in columns}
            )
    return path
