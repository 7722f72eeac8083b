"""The HTML report: a self-contained folder a reviewer opens, with before/after frames per job.

``report.html`` sits next to ``report-frames/`` holding one PNG of the source and one of the
archived output per job, taken at the same moment, so the pair shows the edit. A job without an
output (failed, still running) shows its source frame only. A frame that cannot be taken is a
note in the page, never a broken image. Filtering by state and the totals need no network: the
styles and the few lines of script are inline.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from media.errors import ProbeError
from media.seams import SeamScore
from media.thumbnails import CLIP_POINTS, Shot, job_moment, s3_grab
from producer.report import ReportRow, totals, write_csv, write_json

if TYPE_CHECKING:
    import httpx
    from mypy_boto3_s3 import S3Client

FrameGrab = Callable[[str, float], bytes]
"""PNG bytes of the frame at ``at_s`` seconds of a clip given as s3:// URI, URL or path."""

FRAME_WORKERS = 4


@dataclass(frozen=True)
class Frames:
    """Where a row's before/after pictures are (relative paths, or URLs in the web pages)."""

    before: str | None
    after: str | None
    note: str = ""
    more: tuple[tuple[str, str | None, str | None], ...] = ()
    """A clip's (where, source frame, stitched frame) at its start, middle and end."""


Stored = Callable[[str, str], bytes | None]
"""The frame ``name`` kept next to an output (``pipeline.thumbnails``), or None."""


def no_stored(output_uri: str, name: str) -> bytes | None:
    """A `Stored` that never finds a kept frame (every frame is taken from the video)."""
    return None


def frame_grab(
    s3: S3Client | None, max_width: int = 480, http: httpx.Client | None = None
) -> FrameGrab:
    """A `FrameGrab` that presigns ``s3://`` URIs and takes frames with `media.frames`, through
    ``http`` (the guarded client of `storage.fetching`, which the web and the CLI pass)."""
    return s3_grab(s3, max_width, http=http)


def frame_time(row: ReportRow) -> float:
    """Where to take a row's frames: one second in, or mid-clip for shorter sources."""
    return job_moment(row.source_seconds)


def write_html(
    rows: Sequence[ReportRow],
    path: Path,
    grab: FrameGrab,
    title: str = "restyle report",
    stored: Stored = no_stored,
) -> Path:
    """Write ``path`` and its frames folder (``{stem}-frames`` beside it); return ``path``.

    A frame kept next to its output at archive or stitch time is copied; others are taken."""
    frames_dir = path.parent / f"{path.stem}-frames"
    frames_dir.mkdir(parents=True, exist_ok=True)

    def frames_of(row: ReportRow) -> Frames:
        return _take_frames(row, frames_dir, grab, stored)

    with ThreadPoolExecutor(max_workers=FRAME_WORKERS) as pool:
        frames = list(pool.map(frames_of, rows))
    path.write_text(render(rows, frames, title), encoding="utf-8")
    return path


def write_report(
    rows: Sequence[ReportRow],
    fmt: str,
    path: Path,
    grab: FrameGrab,
    title: str = "",
    stored: Stored = no_stored,
) -> Path:
    """Write the report in ``fmt`` (html, csv or json); frames are taken only for html."""
    if fmt == "json":
        return write_json(rows, path)
    if fmt == "csv":
        return write_csv(rows, path)
    if fmt == "html":
        return write_html(rows, path, grab, title or "restyle report", stored)
    raise ValueError(f"unknown report format {fmt!r}: use html, csv or json")


def _take_frames(row: ReportRow, frames_dir: Path, grab: FrameGrab, stored: Stored) -> Frames:
    if row.kind == "clip":
        return _clip_frames(row, frames_dir, grab, stored)
    at_s = frame_time(row)
    save = _saver(grab, stored, row.output_uri, frames_dir, row.job_id)
    before, note_before = save(Shot("before", row.source, at_s))
    if row.output_uri is None:
        return Frames(before, None, note_before)
    after, note_after = save(Shot("after", row.output_uri, at_s))
    return Frames(before, after, " ".join(n for n in (note_before, note_after) if n))


def _clip_frames(row: ReportRow, frames_dir: Path, grab: FrameGrab, stored: Stored) -> Frames:
    """A clip's source and stitched output at its start, middle and end."""
    length = max(0.0, (row.source_seconds or 0.0) - 0.1)
    save = _saver(grab, stored, row.output_uri, frames_dir, row.job_id)
    if row.output_uri is None:
        before, note = save(Shot("before-middle", row.source, length / 2))
        return Frames(before, None, note)
    more: list[tuple[str, str | None, str | None]] = []
    notes: list[str] = []
    for where, fraction in CLIP_POINTS:
        source, missing_source = save(Shot(f"before-{where}", row.source, length * fraction))
        output, missing = save(Shot(f"after-{where}", row.output_uri, length * fraction))
        more.append((where, source, output))
        notes.extend(note for note in (missing_source, missing) if note)
    return Frames(None, None, " ".join(notes), tuple(more))


def _saver(
    grab: FrameGrab, stored: Stored, output_uri: str | None, frames_dir: Path, name: str
) -> Callable[[Shot], tuple[str | None, str]]:
    def save(shot: Shot) -> tuple[str | None, str]:
        target = frames_dir / f"{name}-{shot.name}.png"
        try:
            png = stored(output_uri, shot.name) if output_uri else None
            if png is None:
                png = grab(shot.location, shot.at_s)
        except ProbeError as exc:
            return None, f"no frame: {exc.reason}"
        except Exception as exc:  # any other failure is a note too: the report must be written
            return None, f"no frame ({type(exc).__name__})"
        target.write_bytes(png)
        return f"{target.parent.name}/{target.name}", ""

    return save


def render(rows: Sequence[ReportRow], frames: Sequence[Frames], title: str) -> str:
    """The page, from the template beside this module."""
    page = resources.files("producer").joinpath("report_page.html").read_text(encoding="utf-8")
    clip_states = {row.job_id: row.state for row in rows if row.kind == "clip"}
    body = "\n".join(
        row_html(row, pair, item_state=clip_states.get(row.clip_id or "", ""))
        for row, pair in zip(rows, frames, strict=True)
    )
    return (
        page.replace("<!--STYLE-->", stylesheet())
        .replace("<!--TITLE-->", html.escape(title))
        .replace("<!--TOTALS-->", _totals_html(rows))
        .replace("<!--FILTERS-->", _filters_html(rows))
        .replace("<!--ROWS-->", body)
    )


def stylesheet() -> str:
    """The report's styles, shared with the pages of ``restyle web``."""
    return resources.files("producer").joinpath("report.css").read_text(encoding="utf-8")


def _totals_html(rows: Sequence[ReportRow]) -> str:
    summary = totals(rows)
    cells = [
        ("items", f"{summary.items_finished}/{summary.items} finished"),
        *((f"items {state}", str(n)) for state, n in summary.items_by_state.items()),
    ]
    if summary.clips:
        cells.append(("clips", f"{summary.clips} ({_counts(summary.clips_by_state)})"))
        cells.append(("segments", f"{summary.segments_finished}/{summary.segments} finished"))
    cells.append(("jobs", f"{summary.jobs} ({_counts(summary.jobs_by_state)})"))
    estimated = summary.cost_usd - summary.billed_usd
    spend = (
        f"${summary.cost_usd:.2f} (${summary.billed_usd:.2f} billed, ${estimated:.2f} estimated)"
    )
    cells.append(("cost", spend))
    if summary.double_charges:
        doubled = f"{summary.double_charges} (${summary.double_charge_usd:.2f})"
        cells.append(("possibly paid twice", doubled))
    cells.append(("stored", size_text(summary.stored_bytes)))
    return "".join(
        f'<tr><td>{html.escape(k)}</td><td data-total="{html.escape(k)}">{html.escape(v)}</td></tr>'
        for k, v in cells
    )


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{state} {n}" for state, n in counts.items())


def _filters_html(rows: Sequence[ReportRow]) -> str:
    """One box per item state, counted like the totals (a clip's segments follow its box)."""
    by_state = totals(rows).items_by_state
    return "".join(
        f'<label><input type="checkbox" value="{html.escape(state)}" checked> '
        f"{html.escape(state)} (<span data-count>{n}</span>)</label>"
        for state, n in by_state.items()
    )


def row_html(
    row: ReportRow,
    frames: Frames,
    *,
    lazy: bool = False,
    item_href: str = "",
    extra: str = "",
    item_state: str = "",
) -> str:
    """One row: item, state and failure, before/after frames, details. A segment's row carries
    its clip's state (``item_state``), which the report's filter goes by.

    The web pages load frames lazily, link the item to the job's page and add cells.
    """
    state = html.escape(row.state)
    item = html.escape(_label(row))
    if item_href:
        item = f'<a href="{html.escape(item_href)}">{item}</a>'
    loading = "lazy" if lazy else "eager"
    failure = ""
    if row.failure_kind or row.failure_message:
        text = f"{row.failure_kind or ''}: {row.failure_message or ''}".strip(": ")
        failure = f'<div class="failure">{html.escape(text)}</div>'
    return (
        f'<tr data-state="{state}" data-item-state="{html.escape(item_state or row.state)}" '
        f'data-job="{html.escape(row.job_id)}" data-kind="{html.escape(row.kind)}" '
        f'class="kind-{html.escape(row.kind)}">'
        f"<td>{item}</td>"
        f'<td><span class="state state-{state}">{state}</span>{failure}</td>'
        f'<td class="frames">{_pictures(row, frames, loading)}{_note(frames.note)}</td>'
        f'<td class="meta">{details_html(row)}</td>{extra}</tr>'
    )


def _pictures(row: ReportRow, frames: Frames, loading: str) -> str:
    if row.kind == "clip" and frames.more:
        # Start, middle and end side by side, each the source above the stitched output.
        return (
            '<div class="clip-frames">'
            + "".join(
                f'<figure class="pair">{figure(source, "", loading)}{figure(output, "", loading)}'
                f"<figcaption>{where}: before / after</figcaption></figure>"
                for where, source, output in frames.more
            )
            + "</div>"
        )
    return figure(frames.before, "before", loading) + figure(frames.after, "after", loading)


def figure(src: str | None, caption: str, loading: str = "eager") -> str:
    """A frame with its caption, or a note that there is none."""
    if src is None:
        return f'<figure><span class="none">no {caption} frame</span></figure>'.replace("  ", " ")
    label = f"<figcaption>{caption}</figcaption>" if caption else ""
    return (
        f'<figure><img src="{html.escape(src)}" alt="{caption or "frame"}" loading="{loading}">'
        f"{label}</figure>"
    )


def _label(row: ReportRow) -> str:
    if row.kind == "clip":
        return f"{row.item} (whole clip, {row.segments or 0} segments)"
    if row.segment is not None:
        replaced = ", replaced by a re-run" if row.superseded else ""
        return f"{row.item} segment {row.segment:03d}{replaced}"
    return row.item


def _note(note: str) -> str:
    return f'<div class="meta">{html.escape(note)}</div>' if note else ""


def details_html(row: ReportRow) -> str:
    """A row's facts (provider, source, remote id, output, cost, timings), escaped."""
    facts = [
        ("provider", row.provider),
        ("source", row.source),
        ("remote id", row.remote_id),
        ("output", row.output_uri),
        ("size", size_text(row.size_bytes) if row.size_bytes is not None else None),
        ("sha256", row.sha256[:16] + "…" if row.sha256 else None),
        ("cost", f"${row.cost_usd:.2f} {row.cost_basis}" + _rerun_part(row)),
        ("possibly paid twice", _doubled(row)),
        ("paid twice", _confirmed(row)),
        ("seams", seams_summary(row.seams)),
        ("queued", _duration(row.queue_s)),
        ("ran", _duration(row.run_s)),
        ("total", _duration(row.total_s)),
    ]
    text = "<br>".join(
        f"{html.escape(label)}: {html.escape(value)}" for label, value in facts if value
    )
    return text + seams_table(row.seams)


def seams_summary(seams: Sequence[SeamScore]) -> str | None:
    """``3 seams, worst 1.09x (seam 2), none flagged``, or None without seams."""
    if not seams:
        return None
    worst = max(seams, key=lambda seam: seam.ratio)
    flagged = [str(seam.index) for seam in seams if seam.flagged]
    said = f"{len(flagged)} flagged ({', '.join(flagged)})" if flagged else "none flagged"
    return f"{len(seams)} seams, worst {worst.ratio:.2f}x (seam {worst.index}), {said}"


def seams_table(seams: Sequence[SeamScore]) -> str:
    """A small table of seam scores (empty without seams); flagged rows carry a class."""
    if not seams:
        return ""
    rows = "".join(
        f'<tr class="seam{" flagged" if seam.flagged else ""}"><td>{seam.index}-{seam.index + 1}'
        f'</td><td class="num">{seam.at_s:.2f} s</td><td class="num">{seam.ratio:.2f}x</td>'
        f'<td class="num">{seam.histogram:.3f}</td>'
        f"<td>{'flagged' if seam.flagged else 'scene cut' if seam.at_cut else 'ok'}</td></tr>"
        for seam in seams
    )
    head = "<tr><th>seam</th><th>at</th><th>jump</th><th>histogram</th><th></th></tr>"
    return f'<table class="seams">{head}{rows}</table>'


def _rerun_part(row: ReportRow) -> str:
    if row.kind != "clip":
        return ""
    part = " (its segments" + (f", re-runs ${row.rerun_usd:.2f}" if row.rerun_usd else "")
    return part + ")"


def size_text(size: int) -> str:
    """Bytes in B, KiB, MiB or GiB."""
    value = float(size)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def _duration(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _confirmed(row: ReportRow) -> str | None:
    if not row.confirmed_double_charges:
        return None
    billed = row.confirmed_double_charge_usd
    amount = f", ${billed:.2f} billed (in the cost)" if billed else " (no bill: estimated)"
    return f"confirmed by the provider: {row.confirmed_double_charges}x{amount}"


def _doubled(row: ReportRow) -> str | None:
    if not row.possible_double_charges:
        return None
    return f"{row.possible_double_charges}x, up to ${row.possible_double_charge_usd:.2f} more"
