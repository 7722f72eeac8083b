"""The HTML of ``restyle web``: the report's stylesheet, rows and details, plus the page shell.

Everything shown is escaped here, on the server; the page's script only swaps in fragments
rendered by these functions.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from jobs.failures import FailureKind
from jobs.models import Job
from jobs.states import JobState
from media.seams import SeamScore
from pipeline.cancelling import NOT_YET_SUBMITTED
from pipeline.requeueing import RETRYABLE_ENDS
from producer.report import ReportRow
from producer.report_html import (
    Frames,
    details_html,
    figure,
    row_html,
    seams_table,
    size_text,
    stylesheet,
)
from web.csrf import FIELD
from web.index import Filters, Page

CANCELLABLE = NOT_YET_SUBMITTED | {JobState.SUBMITTED}


def without_query(url: str) -> str:
    """``url`` without its query string, which may hold a presigned signature."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")) + "?…"


def shown(row: ReportRow) -> ReportRow:
    """``row`` as the pages and the API show it: a presigned source URL loses its signature."""
    return row.model_copy(update={"source": without_query(row.source)})


def _asset(name: str) -> str:
    return resources.files("web").joinpath(name).read_text(encoding="utf-8")


def shell(title: str, body: str, *, kind: str, user: str, csrf: str) -> str:
    """A whole page around ``body`` (already escaped HTML)."""
    return (
        _asset("page.html")
        .replace("<!--STYLE-->", stylesheet())
        .replace("<!--TITLE-->", html.escape(title))
        .replace("<!--KIND-->", html.escape(kind))
        .replace("<!--CSRF-->", html.escape(csrf))
        .replace("<!--USER-->", html.escape(user))
        .replace("<!--SCRIPT-->", _asset("page.js"))
        .replace("<!--BODY-->", body)
    )


def e(value: object) -> str:
    """``value`` as escaped text."""
    return html.escape(str(value))


def action(path: str, label: str, confirm: str, csrf: str, fields: str = "") -> str:
    """A POST form with the CSRF token, confirmed in the browser before it is sent."""
    return (
        f'<form class="action" method="post" action="{e(path)}" data-confirm="{e(confirm)}">'
        f'<input type="hidden" name="{FIELD}" value="{e(csrf)}">{fields}'
        f'<button type="submit" data-action="{e(label)}">{e(label)}</button></form>'
    )


def _money(summary: dict[str, Any]) -> str:
    budget = summary["budget_usd"]
    spent = f"${summary['spent_usd']:.2f}" + (f" of ${budget:.2f}" if budget is not None else "")
    billed = summary.get("billed_usd") or 0.0
    spent += f" (${billed:.2f} billed, ${summary['spent_usd'] - billed:.2f} estimated)"
    if summary["double_charges"]:
        spent += f" ({summary['double_charges']} possibly paid twice)"
    return spent


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in counts.items() if n) or "-"


def batches_table(summaries: Iterable[dict[str, Any]]) -> str:
    """The batches page's table body: one row per batch."""
    rows = []
    for s in summaries:
        states = _counts(s["states"])
        eta = "-" if s["eta_s"] is None else f"{s['eta_s']:.0f} s"
        rows.append(
            f'<tr data-batch="{e(s["batch"])}"><td><a href="/batches/{e(s["batch"])}">'
            f'{e(s["batch"])}</a></td><td class="num">{s["finished"]}/{s["jobs"]}</td>'
            f"<td>{e(states)}</td><td>{e(_money(s))}</td>"
            f'<td class="num">{s["jobs_per_min"]:.1f}/min, ETA {e(eta)}</td>'
            f"<td>{e(_counts(s['providers']))}</td><td>{e(_counts(s['failures']))}</td></tr>"
        )
    return "".join(rows) or '<tr><td colspan="7">no batches yet</td></tr>'


def batches_body(summaries: Sequence[dict[str, Any]]) -> str:
    """The batches page (updated live by server-sent events)."""
    return (
        "<table><thead><tr><th>batch</th><th>finished</th><th>by state</th><th>spend</th>"
        "<th>throughput</th><th>providers</th><th>failures by kind</th></tr></thead>"
        f'<tbody id="batches">{batches_table(summaries)}</tbody></table>'
    )


def summary_table(summary: dict[str, Any]) -> str:
    """A batch's totals, as the report shows them, plus money and speed."""
    cells = [("jobs", str(summary["jobs"])), ("finished", str(summary["finished"]))]
    cells += [(name, str(n)) for name, n in summary["states"].items() if n]
    eta = "-" if summary["eta_s"] is None else f"{summary['eta_s']:.0f} s"
    cells += [
        ("spend", _money(summary)),
        ("reserved", f"${summary['reserved_usd']:.2f}"),
        ("throughput", f"{summary['jobs_per_min']:.1f} jobs/min, ETA {eta}"),
        ("providers", _counts(summary["providers"])),
        ("failures by kind", _counts(summary["failures"])),
        ("stored", size_text(summary["stored_bytes"])),
    ]
    return "".join(f'<tr><td>{e(k)}</td><td data-cell="{e(k)}">{e(v)}</td></tr>' for k, v in cells)


def _select(name: str, label: str, options: Iterable[str], chosen: str) -> str:
    items = "".join(
        f'<option value="{e(value)}"{" selected" if value == chosen else ""}>{e(value or "all")}'
        "</option>"
        for value in ("", *options)
    )
    return f'<label>{e(label)} <select id="f-{name}" name="{name}">{items}</select></label>'


def batch_body(
    batch: str,
    summary: dict[str, Any],
    filters: Filters,
    page: int,
    *,
    actions: bool,
    csrf: str,
) -> str:
    """The batch page: totals, filters, the paged jobs table and the batch's actions."""
    controls = (
        _select("state", "state", [s.value for s in JobState], filters.state)
        + _select("provider", "provider", sorted(summary["providers"]), filters.provider)
        + _select("kind", "failure", [k.value for k in FailureKind], filters.failure_kind)
        + f'<label>item <input id="f-q" name="q" type="search" value="{e(filters.search)}">'
        f'</label><input id="f-page" type="hidden" value="{page}">'
        '<button id="p-prev" type="button">&lt; prev</button>'
        '<button id="p-next" type="button">next &gt;</button> <span id="matching"></span>'
    )
    buttons = ""
    if actions:
        buttons = (
            action(f"/batches/{batch}/retry", "retry failed and expired",
                   f"Queue every FAILED and EXPIRED job of {batch} again (new paid tries)?", csrf)
            + action(f"/batches/{batch}/cancel", "cancel batch",
                     f"Cancel every unfinished job of {batch}?", csrf)
        )  # fmt: skip
    return (
        f'<table class="totals" id="summary">{summary_table(summary)}</table>'
        f'<div class="controls">{controls}</div><div class="controls">{buttons}</div>'
        f'<table id="jobs" data-rows="/batches/{e(batch)}/rows"><thead><tr><th>item</th>'
        "<th>state</th><th>before / after</th><th>details</th><th></th></tr></thead>"
        '<tbody id="rows"></tbody></table>'
    )


def frames_of(row: ReportRow) -> Frames:
    """Where the web serves a row's frames (taken on demand by the report's frame code)."""
    after = f"/jobs/{row.job_id}/frame/after" if row.output_uri else None
    return Frames(f"/jobs/{row.job_id}/frame/before", after)


def job_actions(job: Job, csrf: str) -> str:
    """The buttons a job offers in its state."""
    parts = []
    if job.state in RETRYABLE_ENDS:
        parts.append(action(f"/jobs/{job.id}/retry", "retry",
                            f"Queue {job.item} again (a new paid try)?", csrf))  # fmt: skip
    if job.state in CANCELLABLE:
        parts.append(action(f"/jobs/{job.id}/cancel", "cancel", f"Cancel {job.item}?", csrf))
    return "".join(parts)


def rows_html(rows: Sequence[ReportRow], jobs: dict[str, Job], *, actions: bool, csrf: str) -> str:
    """The jobs table's rows, the report's own, with the job's actions in a last cell."""
    parts = []
    for row in rows:
        cell = job_actions(jobs[row.job_id], csrf) if actions else ""
        extra = f'<td class="actions">{cell}</td>'
        parts.append(
            row_html(row, frames_of(row), lazy=True, item_href=f"/jobs/{row.job_id}", extra=extra)
        )
    return "\n".join(parts) or '<tr><td colspan="5">no job matches</td></tr>'


def page_meta(page: Page) -> dict[str, int]:
    """The pager's numbers."""
    return {"matching": page.matching, "page": page.page, "pages": page.pages}


def job_body(
    job: Job, row: ReportRow, *, actions: bool, csrf: str, seams: Sequence[SeamScore] = ()
) -> str:
    """One job: frames, the stored video, details, failure, its seams (a segment of a stitched
    clip: the seams either side of it), history, actions."""
    frames = frames_of(row)
    video = ""
    if row.output_uri:
        video = f'<video controls preload="metadata" src="/jobs/{e(job.id)}/video"></video>'
    failure = ""
    if job.failure_kind or job.failure_message:
        failure = (
            f'<p class="failure">{e(job.failure_kind or "")}: {e(job.failure_message or "")}</p>'
        )
    history = "".join(
        f"<tr><td>{e(ev.at.isoformat(timespec='seconds'))}</td><td>{e(ev.state)}</td>"
        f"<td>{e(ev.detail)}</td></tr>"
        for ev in job.events
    )
    return (
        f'<p>batch <a href="/batches/{e(job.batch)}">{e(job.batch)}</a> - item {e(job.item)} - '
        f'<span class="state state-{e(job.state)}" id="job-state">{e(job.state)}</span></p>'
        f'{failure}<p>prompt: <q id="prompt">{e(job.request.prompt)}</q></p>'
        f'<div class="frames">{figure(frames.before, "before")}{figure(frames.after, "after")}'
        f'</div>{video}<p class="meta">{details_html(row)}</p>'
        f"{_seams_block(seams)}"
        f"{_job_actions_block(job, actions, csrf)}"
        f'<h2>history</h2><table id="history">{history}</table>'
    )


def _seams_block(seams: Sequence[SeamScore]) -> str:
    if not seams:
        return ""
    return f'<h2>seams</h2><div id="seams">{seams_table(seams)}</div>'


def _job_actions_block(job: Job, actions: bool, csrf: str) -> str:
    if not actions:
        return '<p class="meta">read-only: set RESTYLE_WEB__ACTIONS=true to act on jobs</p>'
    block = job_actions(job, csrf)
    if job.state is JobState.STORED:
        cost = f"${job.estimated_cost_usd:.2f}"
        field = (
            f'<label>prompt <input name="prompt" size="60" value="{e(job.request.prompt)}"></label>'
        )
        block += action(
            f"/jobs/{job.id}/rerun",
            f"re-run ({cost})",
            f"Re-run {job.item} with the edited prompt? This is a new paid try: about {cost}.",
            csrf,
            field,
        )
    return f'<div class="controls">{block}</div>'


def providers_body(rows: Sequence[dict[str, Any]]) -> str:
    """One line per provider and key: limiter state, health, cap and tier where known."""
    head = (
        "<tr><th>provider</th><th>key</th><th>health</th><th>in flight</th><th>rate</th>"
        "<th>cooldown</th><th>parked</th><th>daily cap</th><th>tier</th></tr>"
    )
    body = "".join(
        f"<tr><td>{e(r['provider'])}</td><td>{e(r['key_id'])}</td><td>{e(r['health'])}</td>"
        f'<td class="num">{r["in_flight"]}/{r["concurrency"]}</td>'
        f'<td class="num">{r["effective_rate"]:.2f}/{r["rate_ceiling"]:.2f} per s</td>'
        f'<td class="num">{r["cooldown_remaining"]:.1f} s {e(r["cooldown_reason"])}</td>'
        f'<td class="num">{r["parked"]}</td><td>{e(r["daily_cap"])}</td><td>{e(r["tier"])}</td>'
        "</tr>"
        for r in rows
    )
    return f'<table id="providers">{head}{body}</table>'
