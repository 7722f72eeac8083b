"""A batch's report rows (one per job, and one per clip above its segments' rows) and their
JSON and CSV forms.

``cost_usd`` is what a job the provider accepted cost: its bill where the provider sent one
(``cost_basis`` "billed"; $0 for a refund), else its estimate ("estimated"); a job refused
before sending cost nothing. Timings are in seconds: ``queue_s`` from creation to the accepted
submit, ``run_s`` from there to the provider's completion, ``total_s`` from creation to the
job's final state. A clip's own row costs nothing: its segments' rows carry what was paid.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from jobs.clips.record import Clip
from jobs.models import Job
from media.seams import SeamScore


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


class Totals(BaseModel):
    """The whole batch in numbers."""

    model_config = ConfigDict(frozen=True)

    jobs: int
    clips: int = 0
    by_state: dict[str, int]
    cost_usd: float
    billed_usd: float = 0.0
    """The part of ``cost_usd`` the providers billed; the rest is estimated."""
    possible_double_charges: int = 0
    possible_double_charge_usd: float = 0.0
    stored_bytes: int


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


def build_clip_row(clip: Clip) -> ReportRow:
    """The report row of a clip: its stitched output and how it ended."""
    finished = clip.updated_at if clip.state.terminal else None
    output = clip.output
    return ReportRow(
        job_id=clip.id,
        batch=clip.batch,
        item=clip.item,
        source=clip.source,
        provider=clip.provider.value,
        remote_id=None,
        state=clip.state.value,
        failure_kind=None,
        failure_message=clip.failure_message,
        output_uri=output.uri if output else None,
        size_bytes=output.size if output else None,
        sha256=output.sha256 if output else None,
        cost_usd=0.0,
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
    """Report rows of ``jobs`` and ``clips``, by item; a clip's row comes before its segments."""
    rows = [*map(build_row, jobs), *map(build_clip_row, clips)]
    return sorted(rows, key=lambda row: (row.item, row.segment or 0, row.job_id))


def job_cost(job: Job) -> float:
    """The bill where the provider sent one; else the estimate of a job it accepted."""
    if job.billed_cost_usd is not None:
        return job.billed_cost_usd
    return job.estimated_cost_usd if job.remote_id else 0.0


def totals(rows: Sequence[ReportRow]) -> Totals:
    """Jobs by state, money spent and bytes stored."""
    jobs = [row for row in rows if row.kind != "clip"]
    return Totals(
        jobs=len(jobs),
        clips=len(rows) - len(jobs),
        by_state=dict(sorted(Counter(row.state for row in jobs).items())),
        cost_usd=round(sum(row.cost_usd for row in rows), 4),
        billed_usd=round(sum(row.cost_usd for row in rows if row.cost_basis == "billed"), 4),
        possible_double_charges=sum(row.possible_double_charges for row in rows),
        possible_double_charge_usd=round(sum(row.possible_double_charge_usd for row in rows), 4),
        stored_bytes=sum(row.size_bytes or 0 for row in rows),
    )


def write_json(rows: Sequence[ReportRow], path: Path) -> Path:
    """``{"totals": ..., "jobs": [...]}`` at ``path``."""
    body = {
        "totals": totals(rows).model_dump(mode="json"),
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
