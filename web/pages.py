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

from jobs.budget import spend_parts
from jobs.clips.record import Clip, ClipState
from jobs.failures import FailureKind
from jobs.models import Job
from jobs.states import JobState
from media.seams import SeamScore
from media.thumbnails import CLIP_POINTS
from pipeline.operations.cancelling import CANCELLABLE
from pipeline.operations.retrying import RETRYABLE_ENDS
from producer.report import ReportRow, build_row
from producer.report_html import (
    Frames,
    details_html,
    figure,
    row_html,
    seams_table,
    size_text,
    stylesheet,
)
from producer.tally import ClipRollup
from web.csrf import FIELD
from web.index import Filters, Page
from web.items import Item


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
    billed, ceiling = summary.get("billed_usd") or 0.0, summary.get("ceiling_usd") or 0.0
    spent += f" ({spend_parts(summary['spent_usd'], billed, ceiling)})"
    if summary["double_charges"]:
        spent += f" ({summary['double_charges']} possibly paid twice)"
    return spent


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in counts.items() if n) or "-"


def progress_text(summary: dict[str, Any]) -> str:
    """Items finished of all, and the clips' segments: the numbers `restyle status` prints."""
    text = f"{summary['items_finished']}/{summary['items']} items"
    if summary["clips"]:
        text += (
            f" ({summary['clips']} clip(s), {summary['single_jobs']} job(s)); segments "
            f"{summary['segments_finished']}/{summary['segments']}"
        )
    return text


def _eta(summary: dict[str, Any]) -> str:
    return "-" if summary["eta_s"] is None else f"{summary['eta_s']:.0f} s"


def batches_table(summaries: Iterable[dict[str, Any]]) -> str:
    """The batches page's table body: one row per batch, newest first."""
    rows = []
    for s in summaries:
        created = (s["created_at"] or "-").replace("T", " ")
        rows.append(
            f'<tr data-batch="{e(s["batch"])}"><td><a href="/batches/{e(s["batch"])}">'
            f"{e(s['batch'])}</a></td><td>{e(created)}</td>"
            f'<td class="num" data-cell="progress">{e(progress_text(s))}</td>'
            f"<td>{e(_counts(s['items_by_state']))}</td><td>{e(_money(s))}</td>"
            f'<td class="num">{s["items_per_min"]:.1f}/min, ETA {e(_eta(s))}</td>'
            f"<td>{e(_counts(s['providers']))}</td><td>{e(_counts(s['failures']))}</td></tr>"
        )
    return "".join(rows) or '<tr><td colspan="8">no batches yet</td></tr>'


def batches_body(summaries: Sequence[dict[str, Any]]) -> str:
    """The batches page (updated live by server-sent events)."""
    return (
        "<table><thead><tr><th>batch</th><th>created (UTC)</th><th>finished</th>"
        "<th>items by state</th><th>spend</th><th>throughput</th><th>providers</th>"
        "<th>failures by kind</th></tr></thead>"
        f'<tbody id="batches">{batches_table(summaries)}</tbody></table>'
    )


def summary_table(summary: dict[str, Any]) -> str:
    """A batch's totals, as `restyle status` and the reports count them, plus money and speed."""
    cells = [
        ("items", str(summary["items"])),
        ("finished", progress_text(summary)),
        ("items by state", _counts(summary["items_by_state"])),
        ("jobs", f"{summary['jobs']} ({_counts(summary['jobs_by_state'])})"),
        ("cost", f"${summary['cost_usd']:.2f}"),
        ("spend", _money(summary)),
        ("reserved", f"${summary['reserved_usd']:.2f}"),
        ("throughput", f"{summary['items_per_min']:.1f} items/min, ETA {_eta(summary)}"),
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
        _select("state", "state", ITEM_STATES, filters.state)
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
                   f"Queue every FAILED and EXPIRED job of {batch} again and reopen its failed "
                   "clips (new paid tries)?", csrf)
            + action(f"/batches/{batch}/cancel", "cancel batch",
                     f"Cancel every unfinished clip and job of {batch}?", csrf)
        )  # fmt: skip
    return (
        f'<table class="totals" id="summary">{summary_table(summary)}</table>'
        f'<div class="controls">{controls}</div><div class="controls">{buttons}</div>'
        f'<table id="jobs" data-rows="/batches/{e(batch)}/rows"><thead><tr><th>item</th>'
        "<th>state</th><th>before / after</th><th>details</th><th></th></tr></thead>"
        '<tbody id="rows"></tbody></table>'
    )


ITEM_STATES = [*(s.value for s in ClipState if not s.terminal), *(s.value for s in JobState)]
"""What an item may be in: a clip's own states, then a job's (both end STORED, FAILED, ...)."""


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


def items_html(items: Sequence[Item], jobs: dict[str, Job], *, actions: bool, csrf: str) -> str:
    """The batch table's rows: one per whole clip and per single job, in item order."""
    parts = []
    for item in items:
        if item.kind == "clip":
            parts.append(clip_item_html(item, actions=actions, csrf=csrf))
        elif item.id in jobs:
            job = jobs[item.id]
            cell = job_actions(job, csrf) if actions else ""
            row = shown(build_row(job))
            parts.append(row_html(row, frames_of(row), item_href=f"/jobs/{job.id}",
                                  extra=f'<td class="actions">{cell}</td>'))  # fmt: skip
    return "\n".join(parts) or '<tr><td colspan="5">no item matches</td></tr>'


def clip_item_html(item: Item, *, actions: bool, csrf: str) -> str:
    """A clip's row on its batch's page: state, segments stored, middle frames, roll-up."""
    state = e(item.state)
    stored = item.state == ClipState.STORED
    frames = (
        figure(f"/clips/{item.id}/frame/before-middle", "source")
        + figure(f"/clips/{item.id}/frame/after-middle", "stitched")
        if stored
        else '<span class="none">not stitched yet</span>'
    )
    facts = [("providers", item.provider), ("cost", f"${item.cost_usd:.2f}"),
             ("stored", size_text(item.stored_bytes))]  # fmt: skip
    details = "<br>".join(f"{e(k)}: {e(v)}" for k, v in facts)
    buttons = clip_actions(item.id, item.state, item.item, csrf) if actions else ""
    return (
        f'<tr data-state="{state}" data-job="{e(item.id)}" data-kind="clip">'
        f'<td><a href="/clips/{e(item.id)}">{e(item.item)}</a> <span class="meta">whole clip, '
        f"{item.segments} segments</span></td>"
        f'<td><span class="state state-{state}">{state}</span><div class="meta" '
        f'data-cell="segments">segments {item.segments_stored}/{item.segments} stored</div></td>'
        f'<td class="frames">{frames}</td><td class="meta">{details}</td>'
        f'<td class="actions">{buttons}</td></tr>'
    )


def clip_actions(clip_id: str, state: str, item: str, csrf: str) -> str:
    """The buttons a clip offers in its state."""
    parts = []
    if state == ClipState.FAILED:
        confirm = f"Retry the failed segments of {item} (new paid tries)?"
        parts.append(action(f"/clips/{clip_id}/retry", "retry failed segments", confirm, csrf))
    if state not in (ClipState.STORED, ClipState.FAILED, ClipState.CANCELLED):
        parts.append(action(f"/clips/{clip_id}/cancel", "cancel clip",
                            f"Cancel {item} and its unfinished segments?", csrf))  # fmt: skip
    return "".join(parts)


def _optional(record: object, names: Sequence[str]) -> object:
    """The first of ``names`` the record has and is set (fields other lanes may add)."""
    for name in names:
        value = getattr(record, name, None)
        if value not in (None, (), [], {}):
            return value
    return None


SEAM_FIELDS = ("seam_scores", "seams")
QC_FIELDS = ("qc", "qc_verdict", "verdict", "quality")


def _per_segment(value: object, index: int) -> str:
    """The entry of an optional per-segment field for segment ``index``, however it is kept."""
    if isinstance(value, dict):
        found = value.get(index, value.get(str(index)))
        return "" if found is None else str(found)
    if isinstance(value, list | tuple):
        for entry in value:
            at = getattr(entry, "index", None) or getattr(entry, "segment", None)
            if at == index or (
                isinstance(entry, dict) and index in (entry.get("index"), entry.get("segment"))
            ):
                return str(entry)
        if len(value) >= index and not hasattr(value[0], "index"):
            return str(value[index - 1])
    return ""


def segment_rows(clip: Clip, jobs: dict[str, Job], *, actions: bool, csrf: str) -> str:
    """One row per segment, in order: its job, provider, frames, checks and actions."""
    seams = _optional(clip, SEAM_FIELDS)
    rows = []
    for ref in clip.segments:
        job = jobs.get(ref.job_id)
        state = e(job.state if job else "missing")
        after = f"/jobs/{ref.job_id}/frame/after" if job and job.output else None
        checks = [("seam", _per_segment(seams, ref.index))] if seams is not None else []
        verdict = _optional(job, QC_FIELDS) if job else None
        checks += [("QC", str(verdict))] if verdict is not None else []
        checks_html = "<br>".join(f"{e(k)}: {e(v)}" for k, v in checks if v) or "-"
        cost = f"${job.estimated_cost_usd if job and job.remote_id else 0.0:.2f}"
        cell = _segment_actions(clip, ref.index, job, csrf) if actions and job else ""
        rows.append(
            f'<tr data-segment="{ref.index}" data-state="{state}" data-job="{e(ref.job_id)}">'
            f'<td class="num">{ref.index:03d}</td>'
            f'<td><a href="/jobs/{e(ref.job_id)}"><span class="state state-{state}">{state}'
            f"</span></a>{_failure(job)}</td>"
            f"<td>{e(job.provider if job else clip.provider)}</td>"
            f'<td class="num">{ref.seconds:.2f} s</td><td class="num">{e(cost)}</td>'
            f'<td class="frames">{figure(f"/jobs/{ref.job_id}/frame/before", "before")}'
            f'{figure(after, "after")}</td><td class="meta">{checks_html}</td>'
            f'<td class="actions">{cell}</td></tr>'
        )
    return "".join(rows)


def _failure(job: Job | None) -> str:
    if job is None or not (job.failure_kind or job.failure_message):
        return ""
    return f'<div class="failure">{e(job.failure_kind or "")}: {e(job.failure_message or "")}</div>'


def _segment_actions(clip: Clip, index: int, job: Job, csrf: str) -> str:
    if job.state in RETRYABLE_ENDS:
        confirm = f"Queue segment {index} of {clip.item} again (a new paid try)?"
        return action(f"/jobs/{job.id}/retry", "retry", confirm, csrf)
    if clip.state is not ClipState.STORED or job.state is not JobState.STORED:
        return ""
    cost = f"${job.estimated_cost_usd:.2f}"
    fields = (
        f'<input name="prompt" size="28" value="{e(job.request.prompt)}" aria-label="prompt">'
        f'<input name="seed" size="10" placeholder="seed {e(job.request.seed or "")}" '
        'aria-label="seed">'
    )
    return action(
        f"/clips/{clip.id}/segments/{index}/rerun", f"re-run ({cost})",
        f"Re-run segment {index} of {clip.item} with this prompt or seed, then stitch the clip "
        f"again? This is a new paid try: about {cost}.", csrf, fields,
    )  # fmt: skip


def clip_body(
    clip: Clip, jobs: dict[str, Job], money: ClipRollup, *, actions: bool, csrf: str
) -> str:
    """A clip: the stitched output beside its source (played together), frames along it, the
    segments in order, the cost rolled up, the history and the actions."""
    state = e(clip.state)
    players = '<p class="meta">not stitched yet: the player appears once it is stored</p>'
    if clip.output is not None:
        players = (
            '<div class="players" id="players">'
            f'<figure><video id="v-output" controls preload="metadata" '
            f'src="/clips/{e(clip.id)}/video/output"></video><figcaption>stitched output'
            "</figcaption></figure>"
            f'<figure><video id="v-source" muted preload="metadata" '
            f'src="/clips/{e(clip.id)}/video/source"></video><figcaption>source (follows the '
            "output)</figcaption></figure></div>"
            '<div class="frames clip-frames">'
            + "".join(
                f'<figure class="pair">{figure(f"/clips/{clip.id}/frame/before-{where}", "")}'
                f"{figure(f'/clips/{clip.id}/frame/after-{where}', '')}"
                f"<figcaption>{where}: source / stitched</figcaption></figure>"
                for where, _ in CLIP_POINTS
            )
            + "</div>"
        )
    cost = f"${money.cost_usd:.2f}"
    if money.reruns:
        cost += f" (segments ${money.cost_usd - money.rerun_usd:.2f} + {money.reruns} re-run(s) "
        cost += f"${money.rerun_usd:.2f})"
    if money.double_charges:
        cost += f"; {money.double_charges} possibly paid twice, up to "
        cost += f"${money.double_charge_usd:.2f} more"
    facts = [
        ("providers", ", ".join(money.providers)),
        ("segments", f"{money.segments_stored}/{money.segments} stored"),
        ("source", f"{clip.source_seconds:.2f} s, edited {clip.edit_seconds:.2f} s"),
        ("continuity", clip.continuity.value),
        ("output", f"{clip.output.uri} ({size_text(clip.output.size)})" if clip.output else "-"),
        ("stored", size_text(money.stored_bytes)),
    ]
    seams = _optional(clip, SEAM_FIELDS)
    if seams is not None and not isinstance(seams, dict | list | tuple):
        facts.append(("seams", str(seams)))
    failure = f'<p class="failure">{e(clip.failure_message)}</p>' if clip.failure_message else ""
    table = "".join(f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in facts)
    history = "".join(
        f"<tr><td>{e(ev.at.isoformat(timespec='seconds'))}</td><td>{e(ev.state)}</td>"
        f"<td>{e(ev.detail)}</td></tr>"
        for ev in clip.events
    )
    replaced = "".join(
        f'<li><a href="/jobs/{e(job_id)}">{e(job_id)}</a> {e(jobs[job_id].request.prompt)} '
        f"(${jobs[job_id].estimated_cost_usd if jobs[job_id].remote_id else 0.0:.2f})</li>"
        for job_id in clip.superseded
        if job_id in jobs
    )
    block = (
        clip_actions(clip.id, clip.state, clip.item, csrf)
        if actions
        else ('<span class="meta">read-only: set RESTYLE_WEB__ACTIONS=true to act on clips</span>')
    )
    return (
        f'<p>batch <a href="/batches/{e(clip.batch)}">{e(clip.batch)}</a> - whole clip '
        f'{e(clip.item)} - <span class="state state-{state}" id="clip-state">{state}</span> - '
        f'cost <strong id="clip-cost" data-usd="{money.cost_usd:.4f}">{e(cost)}</strong></p>'
        f'{failure}<p>prompt: <q id="prompt">{e(clip.request.prompt)}</q></p>{players}'
        f'<table class="totals">{table}</table><div class="controls">{block}</div>'
        '<h2>segments</h2><table id="segments"><thead><tr><th>#</th><th>state</th>'
        "<th>provider</th><th>length</th><th>cost</th><th>before / after</th><th>checks</th>"
        f"<th></th></tr></thead><tbody>{segment_rows(clip, jobs, actions=actions, csrf=csrf)}"
        "</tbody></table>"
        + (f'<h2>re-runs replaced</h2><ul id="superseded">{replaced}</ul>' if replaced else "")
        + f'<h2>history</h2><table id="history">{history}</table>'
    )


def page_meta(page: Page[Any]) -> dict[str, int]:
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
    clip = ""
    if job.clip_id:
        clip = f' - segment {job.segment} of <a href="/clips/{e(job.clip_id)}">its clip</a>'
    return (
        f'<p>batch <a href="/batches/{e(job.batch)}">{e(job.batch)}</a> - item {e(job.item)}'
        f'{clip} - <span class="state state-{e(job.state)}" id="job-state">{e(job.state)}</span>'
        "</p>"
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
    if job.state is JobState.STORED and job.clip_id is None:
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
