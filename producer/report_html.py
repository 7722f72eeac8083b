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

from jobs.states import JobState
from media.errors import ProbeError
from media.seams import SeamScore
from producer.report import ReportRow, totals, write_csv, write_json
from storage.object_keys import parse_s3_uri
from storage.presign import presign_get

if TYPE_CHECKING:
    import httpx
    from mypy_boto3_s3 import S3Client

FrameGrab = Callable[[str, float], bytes]
"""PNG bytes of the frame at ``at_s`` seconds of a clip given as s3:// URI, URL or path."""

FRAME_WORKERS = 4
FRAME_TTL_S = 900


@dataclass(frozen=True)
class Frames:
    """Where a row's before/after pictures are (relative paths, or URLs in the web pages)."""

    before: str | None
    after: str | None
    note: str = ""
    more: tuple[tuple[str, str | None], ...] = ()  # a clip's (caption, frame) along its length


CLIP_FRAMES = (("start", 0.0), ("middle", 0.5), ("end", 1.0))


def frame_grab(
    s3: S3Client | None, max_width: int = 480, http: httpx.Client | None = None
) -> FrameGrab:
    """A `FrameGrab` that presigns ``s3://`` URIs and takes frames with `media.frames`, through
    ``http`` (the guarded client of `storage.fetching`, which the web and the CLI pass)."""
    from media.frames import frame_png

    def grab(location: str, at_s: float) -> bytes:
        if location.startswith("s3://"):
            if s3 is None:
                raise ValueError("S3 is not configured")
            bucket, key = parse_s3_uri(location)
            location = presign_get(s3, bucket, key, FRAME_TTL_S)
        return frame_png(location, at_s, max_width, http=http)

    return grab


def frame_time(row: ReportRow) -> float:
    """Where to take a row's frames: one second in, or mid-clip for shorter sources."""
    if row.source_seconds is None:
        return 0.5
    return max(0.0, min(1.0, row.source_seconds / 2))


def write_html(
    rows: Sequence[ReportRow], path: Path, grab: FrameGrab, title: str = "restyle report"
) -> Path:
    """Write ``path`` and its frames folder (``{stem}-frames`` beside it); return ``path``."""
    frames_dir = path.parent / f"{path.stem}-frames"
    frames_dir.mkdir(parents=True, exist_ok=True)

    def frames_of(row: ReportRow) -> Frames:
        return _take_frames(row, frames_dir, grab)

    with ThreadPoolExecutor(max_workers=FRAME_WORKERS) as pool:
        frames = list(pool.map(frames_of, rows))
    path.write_text(render(rows, frames, title), encoding="utf-8")
    return path


def write_report(
    rows: Sequence[ReportRow], fmt: str, path: Path, grab: FrameGrab, title: str = ""
) -> Path:
    """Write the report in ``fmt`` (html, csv or json); frames are taken only for html."""
    if fmt == "json":
        return write_json(rows, path)
    if fmt == "csv":
        return write_csv(rows, path)
    if fmt == "html":
        return write_html(rows, path, grab, title or "restyle report")
    raise ValueError(f"unknown report format {fmt!r}: use html, csv or json")


def _take_frames(row: ReportRow, frames_dir: Path, grab: FrameGrab) -> Frames:
    if row.kind == "clip":
        return _clip_frames(row, frames_dir, grab)
    at_s = frame_time(row)
    before, note_before = _save(grab, row.source, at_s, frames_dir / f"{row.job_id}-before.png")
    if row.output_uri is None:
        return Frames(before, None, note_before)
    after, note_after = _save(grab, row.output_uri, at_s, frames_dir / f"{row.job_id}-after.png")
    return Frames(before, after, " ".join(n for n in (note_before, note_after) if n))


def _clip_frames(row: ReportRow, frames_dir: Path, grab: FrameGrab) -> Frames:
    """A clip's stitched output at its start, middle and end (its source beside the middle)."""
    length = max(0.0, (row.source_seconds or 0.0) - 0.1)
    before, note = _save(grab, row.source, length / 2, frames_dir / f"{row.job_id}-before.png")
    if row.output_uri is None:
        return Frames(before, None, note)
    more: list[tuple[str, str | None]] = []
    notes = [note] if note else []
    for caption, fraction in CLIP_FRAMES:
        target = frames_dir / f"{row.job_id}-{caption}.png"
        saved, missing = _save(grab, row.output_uri, length * fraction, target)
        more.append((caption, saved))
        notes.extend([missing] if missing else [])
    return Frames(before, None, " ".join(notes), tuple(more))


def _save(grab: FrameGrab, location: str, at_s: float, target: Path) -> tuple[str | None, str]:
    try:
        png = grab(location, at_s)
    except ProbeError as exc:
        return None, f"no frame: {exc.reason}"
    except Exception as exc:  # any other failure is a note too: the report must be written
        return None, f"no frame ({type(exc).__name__})"
    target.write_bytes(png)
    return f"{target.parent.name}/{target.name}", ""


def render(rows: Sequence[ReportRow], frames: Sequence[Frames], title: str) -> str:
    """The page, from the template beside this module."""
    page = resources.files("producer").joinpath("report_page.html").read_text(encoding="utf-8")
    body = "\n".join(row_html(row, pair) for row, pair in zip(rows, frames, strict=True))
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
    cells = [("jobs", str(summary.jobs))]
    if summary.clips:
        cells.append(("clips", str(summary.clips)))
    cells.extend((state, str(count)) for state, count in summary.by_state.items())
    estimated = summary.cost_usd - summary.billed_usd
    cells.append(("spend", f"${summary.cost_usd:.2f} (${summary.billed_usd:.2f} billed, "
                           f"${estimated:.2f} estimated)"))  # fmt: skip
    if summary.possible_double_charges:
        doubled = f"{summary.possible_double_charges} (${summary.possible_double_charge_usd:.2f})"
        cells.append(("possibly paid twice", doubled))
    cells.append(("stored", size_text(summary.stored_bytes)))
    return "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in cells)


def _filters_html(rows: Sequence[ReportRow]) -> str:
    present = {row.state for row in rows}
    states = [state.value for state in JobState if state.value in present]
    return "".join(
        f'<label><input type="checkbox" value="{s}" checked> {s} '
        f"({sum(row.state == s for row in rows)})</label>"
        for s in states
    )


def row_html(
    row: ReportRow, frames: Frames, *, lazy: bool = False, item_href: str = "", extra: str = ""
) -> str:
    """One job's table row: item, state and failure, before/after frames, details.

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
        f'<tr data-state="{state}" data-job="{html.escape(row.job_id)}" '
        f'data-kind="{html.escape(row.kind)}">'
        f"<td>{item}</td>"
        f'<td><span class="state state-{state}">{state}</span>{failure}</td>'
        f'<td class="frames">{figure(frames.before, "before", loading)}'
        f"{_after(row, frames, loading)}{_note(frames.note)}</td>"
        f'<td class="meta">{details_html(row)}</td>{extra}</tr>'
    )


def _after(row: ReportRow, frames: Frames, loading: str) -> str:
    if row.kind == "clip" and row.output_uri is not None:
        return "".join(figure(src, f"stitched, {caption}", loading) for caption, src in frames.more)
    return figure(frames.after, "after", loading)


def figure(src: str | None, caption: str, loading: str = "eager") -> str:
    """A frame with its caption, or a note that there is none."""
    if src is None:
        return f'<figure><span class="none">no {caption} frame</span></figure>'
    return (
        f'<figure><img src="{html.escape(src)}" alt="{caption}" loading="{loading}">'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def _label(row: ReportRow) -> str:
    if row.kind == "clip":
        return f"{row.item} (whole clip)"
    if row.segment is not None:
        return f"{row.item} segment {row.segment:03d}"
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
        ("cost", f"${row.cost_usd:.2f} {row.cost_basis}"),
        ("possibly paid twice", _doubled(row)),
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


def _doubled(row: ReportRow) -> str | None:
    if not row.possible_double_charges:
        return None
    return f"{row.possible_double_charges}x, up to ${row.possible_double_charge_usd:.2f} more"
