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
from jobs.clips.record import Clip
from jobs.clips.store import ClipStore
from jobs.limits.limiter_state import KeyLimits, LimiterState
from jobs.models import Job
from media.seams import SeamScore
from media.thumbnails import CLIP_FRAMES
from pipeline.thumbnails import clip_shots, job_shots
from producer.report import build_row
from producer.tally import facts_of, rollup
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
    """The batch page's live fragment: the page of items, the totals, the pager."""
    summary = known_batch(svc, batch)
    found = paginate(svc.summaries.counted(batch).items, filters, page, PAGE_SIZE)
    jobs = {job.id: job for job in svc.shown_jobs([i.id for i in found.rows if i.kind == "job"])}
    token = svc.csrf.token(who)
    actions = svc.settings.web.actions
    return {
        "rows": pages.items_html(found.rows, jobs, actions=actions, csrf=token),
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


def clip_or_404(svc: Service, clip_id: str) -> Clip:
    """The clip, or a 404."""
    clip = svc.clips.get(clip_id)
    if clip is None:
        raise HTTPException(404, f"no clip {clip_id}")
    return clip


def _job_or_clip(svc: Service, job_id: str) -> Job | str:
    found = svc.shown_jobs([job_id])
    if found:
        return found[0]
    if svc.clips.get(job_id) is not None:
        return f"/clips/{job_id}"
    raise HTTPException(404, f"no job or clip {job_id}")


async def job_page(request: Request) -> Response:
    """One job's page (a clip's id redirects to the clip's page)."""
    svc = service(request)
    job = await run_in_threadpool(_job_or_clip, svc, request.path_params["job_id"])
    if isinstance(job, str):
        return RedirectResponse(job, status_code=307)
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
    shots = {shot.name: shot for shot in job_shots(job)}
    shot = shots.get(which)
    if shot is None:
        raise HTTPException(404, "no output yet")
    output = job.output.uri if job.output else None
    return svc.thumbnail(output, shot, job.output.sha256 if job.output else job.id)


def _clip_frame(svc: Service, clip_id: str, which: str) -> bytes:
    clip = clip_or_404(svc, clip_id)
    if clip.output is None:
        raise HTTPException(404, "not stitched yet")
    shots = {shot.name: shot for shot in clip_shots(clip, clip.source, clip.output.uri)}
    if which not in shots:
        raise HTTPException(404, f"frames are {', '.join(CLIP_FRAMES)}")
    return svc.thumbnail(clip.output.uri, shots[which], clip.output.sha256)


async def clip_frame(request: Request) -> Response:
    """A frame of a stitched clip or its source (start, middle, end), as PNG."""
    return await _png(_clip_frame, service(request), request.path_params["clip_id"],
                      request.path_params["which"])  # fmt: skip


async def _png(take: Any, svc: Service, target: str, which: str) -> Response:
    try:
        png = await run_in_threadpool(take, svc, target, which)
    except HTTPException:
        raise
    except Exception as exc:  # a frame that cannot be taken is a 404, never a 500 page
        raise HTTPException(404, f"no frame ({type(exc).__name__})") from None
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=60"})


async def frame(request: Request) -> Response:
    """A before or after frame of a job, as PNG (taken once, then cached)."""
    which = request.path_params["which"]
    if which not in ("before", "after"):
        raise HTTPException(404, "frames are before or after")
    return await _png(_frame, service(request), request.path_params["job_id"], which)


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


def _clip_video_url(svc: Service, clip_id: str, which: str) -> str:
    clip = clip_or_404(svc, clip_id)
    if which == "output":
        if clip.output is None:
            raise HTTPException(404, "no stitched output yet")
        return presign_get(svc.s3, clip.output.bucket, clip.output.key, VIDEO_TTL_S)
    if clip.source.startswith("s3://"):
        bucket, key = parse_s3_uri(clip.source)
        return presign_get(svc.s3, bucket, key, VIDEO_TTL_S)
    if clip.source.startswith(("http://", "https://")):
        return clip.source
    # A local file was staged in S3 when planned: its request carries that object's URL.
    return clip.request.video_url


async def clip_video(request: Request) -> RedirectResponse:
    """A redirect to the stitched output (``output``) or the source (``source``) of a clip."""
    which = request.path_params["which"]
    if which not in ("output", "source"):
        raise HTTPException(404, "videos are output or source")
    url = await run_in_threadpool(_clip_video_url, service(request),
                                  request.path_params["clip_id"], which)  # fmt: skip
    return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})


def clip_view(svc: Service, clip_id: str, who: str) -> tuple[Clip, str]:
    """A clip and its page's body: players, segments in order, cost, history, actions."""
    clip = clip_or_404(svc, clip_id)
    jobs = {job.id: job for job in svc.shown_jobs([*clip.segment_ids(), *clip.superseded])}
    money = rollup(clip, {job_id: facts_of(job) for job_id, job in jobs.items()})
    token = svc.csrf.token(who)
    return clip, pages.clip_body(clip, jobs, money, actions=svc.settings.web.actions, csrf=token)


async def clip_page(request: Request) -> HTMLResponse:
    """One clip's page: the stitched output beside its source, its segments and cost."""
    svc = service(request)
    clip, body = await run_in_threadpool(clip_view, svc, request.path_params["clip_id"],
                                         user(request))  # fmt: skip
    return _page(request, f"restyle: {clip.batch}/{clip.item}", body, "clip")


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
