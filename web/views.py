"""The HTML routes: batches, one batch (and its live rows), one job, its frames and video,
the providers."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from config.catalogue import provider_spec
from config.settings import ProviderName, key_id
from jobs.clips.store import ClipStore
from jobs.limits.limiter_state import KeyLimits, LimiterState
from jobs.models import Job
from media.seams import SeamScore
from producer.report import build_row
from producer.report_html import frame_grab, frame_time
from storage.content import is_checked_video
from storage.errors import StorageError
from storage.object_keys import parse_s3_uri
from storage.presign import presign_get
from storage.s3 import s3_errors
from web import pages
from web.index import Filters, paginate
from web.service import Service

PAGE_SIZE = 50
VIDEO_TTL_S = 300
"""The presigned URL behind a job's player lives five minutes; the page never holds it."""


def service(request: Request) -> Service:
    """The app's shared handles."""
    found: Service = request.app.state.service
    return found


def user(request: Request) -> str:
    """Who is signed in (set by the auth middleware)."""
    return str(request.scope.get("state", {}).get("user", "anonymous"))


def _page(request: Request, title: str, body: str, kind: str) -> HTMLResponse:
    who = user(request)
    token = service(request).csrf.token(who)
    # The page holds a CSRF token: no cache, shared or private, may keep it.
    return HTMLResponse(
        pages.shell(title, body, kind=kind, user=who, csrf=token),
        headers={"Cache-Control": "no-store"},
    )


def filters_of(request: Request) -> tuple[Filters, int]:
    """The batch page's filters and page number from the query string."""
    q = request.query_params
    try:
        page = int(q.get("page", "1"))
    except ValueError:
        page = 1
    filters = Filters(q.get("state", ""), q.get("provider", ""), q.get("kind", ""), q.get("q", ""))
    return filters, page


async def batches_page(request: Request) -> HTMLResponse:
    """The batches page."""
    summaries = await run_in_threadpool(service(request).summaries.all)
    return _page(request, "restyle: batches", pages.batches_body(summaries), "batches")


def known_batch(svc: Service, batch: str) -> dict[str, Any]:
    """``batch``'s summary, or a 404 (checked first, so unknown names cost no index entry)."""
    if batch not in svc.summaries.names():
        raise HTTPException(404, f"no batch {batch}")
    return svc.summaries.one(batch)


async def batch_page(request: Request) -> HTMLResponse:
    """One batch's page: totals, filters, the jobs table (filled live)."""
    svc, batch = service(request), request.path_params["batch"]
    summary = await run_in_threadpool(known_batch, svc, batch)
    filters, page = filters_of(request)
    token = svc.csrf.token(user(request))
    body = pages.batch_body(
        batch, summary, filters, page, actions=svc.settings.web.actions, csrf=token
    )
    return _page(request, f"restyle: {batch}", body, "batch")


def rows_answer(svc: Service, batch: str, filters: Filters, page: int, who: str) -> dict[str, Any]:
    """The batch page's live fragment: the page of rows, the totals, the pager."""
    summary = known_batch(svc, batch)
    found = paginate(svc.index.rows(batch), filters, page, PAGE_SIZE)
    jobs = {job.id: job for job in svc.shown_jobs([row.id for row in found.rows])}
    report_rows = [pages.shown(build_row(jobs[row.id])) for row in found.rows if row.id in jobs]
    token = svc.csrf.token(who)
    actions = svc.settings.web.actions
    return {
        "rows": pages.rows_html(report_rows, jobs, actions=actions, csrf=token),
        "summary": pages.summary_table(summary),
        **pages.page_meta(found),
    }


async def batch_rows(request: Request) -> JSONResponse:
    """The batch page's live fragment, as JSON."""
    svc, batch = service(request), request.path_params["batch"]
    filters, page = filters_of(request)
    answer = await run_in_threadpool(rows_answer, svc, batch, filters, page, user(request))
    return JSONResponse(answer)


def job_or_404(svc: Service, job_id: str) -> Job:
    """The job, or a 404."""
    found = svc.shown_jobs([job_id])
    job = found[0] if found else None
    if job is None:
        raise HTTPException(404, f"no job {job_id}")
    return job


async def job_page(request: Request) -> HTMLResponse:
    """One job's page."""
    svc = service(request)
    job = await run_in_threadpool(job_or_404, svc, request.path_params["job_id"])
    token = svc.csrf.token(user(request))
    row = pages.shown(build_row(job))
    seams = await run_in_threadpool(seams_beside, svc, job)
    body = pages.job_body(job, row, actions=svc.settings.web.actions, csrf=token, seams=seams)
    return _page(request, f"restyle: {job.batch}/{job.item}", body, "job")


def seams_beside(svc: Service, job: Job) -> tuple[SeamScore, ...]:
    """A segment's seams (into it and out of it) once its clip is stitched; () otherwise."""
    if job.clip_id is None or job.segment is None:
        return ()
    clip = ClipStore(svc.redis).get(job.clip_id)
    if clip is None:
        return ()
    return tuple(seam for seam in clip.seams if seam.index in (job.segment - 1, job.segment))


def _frame(svc: Service, job_id: str, which: str) -> bytes:
    job = job_or_404(svc, job_id)
    row = build_row(job)
    location = row.output_uri if which == "after" else row.source
    if location is None:
        raise HTTPException(404, "no output yet")
    key = (job.id, which, location, row.sha256 or "")
    grab = frame_grab(svc.s3, http=svc.context().http)
    return svc.frame(key, lambda: grab(location, frame_time(row)))


async def frame(request: Request) -> Response:
    """A before or after frame of a job, as PNG (taken once, then cached)."""
    which = request.path_params["which"]
    if which not in ("before", "after"):
        raise HTTPException(404, "frames are before or after")
    svc = service(request)
    try:
        png = await run_in_threadpool(_frame, svc, request.path_params["job_id"], which)
    except HTTPException:
        raise
    except Exception as exc:  # a frame that cannot be taken is a 404, never a 500 page
        raise HTTPException(404, f"no frame ({type(exc).__name__})") from None
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=60"})


def _video_url(svc: Service, job_id: str) -> str:
    job = job_or_404(svc, job_id)
    if job.output is None:
        raise HTTPException(404, "no stored output")
    bucket, key = parse_s3_uri(job.output.uri)
    # Only an object restyle stored as a checked video is served: never whatever a hostile
    # output URL answered with, even if such an object was stored before the check existed.
    try:
        with s3_errors(f"head s3://{bucket}/{key}"):
            head = svc.s3.head_object(Bucket=bucket, Key=key)
    except StorageError:
        raise HTTPException(404, "the stored output cannot be read") from None
    if not is_checked_video(head.get("ContentType", ""), head.get("Metadata", {})):
        raise HTTPException(404, "the stored output is not a checked video")
    return presign_get(svc.s3, bucket, key, VIDEO_TTL_S)


async def video(request: Request) -> RedirectResponse:
    """A redirect to a five-minute presigned URL of the stored output."""
    url = await run_in_threadpool(_video_url, service(request), request.path_params["job_id"])
    return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})


def provider_rows(svc: Service) -> list[dict[str, Any]]:
    """Each configured key's limiter snapshot, with its health, daily cap and tier."""
    state = LimiterState(svc.redis)
    rows = []
    for name in ProviderName:
        spec = provider_spec(name, svc.settings)
        limits = KeyLimits(concurrency=spec.concurrency, rate_per_s=spec.rate_per_s)
        for key in svc.settings.provider(name).api_keys:
            snap = state.snapshot(name, key_id(key), limits)
            snap["health"] = _health(snap)
            # Other lanes add daily caps and tiers to the catalogue: show them when present.
            snap["daily_cap"] = getattr(spec, "daily_cap", None) or "-"
            snap["tier"] = getattr(spec, "tier", None) or "-"
            rows.append(snap)
    return rows


def _health(snap: dict[str, Any]) -> str:
    if snap["cooldown_remaining"] > 0:
        return f"cooling down ({snap['cooldown_reason'] or 'throttled'})"
    if snap["throttle_streak"]:
        return f"throttled {snap['throttle_streak']}x lately"
    return "ok"


async def providers_page(request: Request) -> HTMLResponse:
    """The providers page."""
    rows = await run_in_threadpool(provider_rows, service(request))
    return _page(request, "restyle: providers", pages.providers_body(rows), "providers")
