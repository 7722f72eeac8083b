"""The JSON API: batch summaries, a batch's items and jobs (filtered, paged), one clip with its
roll-up and segments, and one job's report row.

Answers carry what the pages show and nothing more: key ids, never keys; no presigned URL.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from producer.report import build_clip_row, build_row
from producer.tally import facts_of, rollup
from web.index import paginate
from web.pages import shown
from web.views import PAGE_SIZE, clip_or_404, filters_of, job_or_404, known_batch, service


async def batches(request: Request) -> JSONResponse:
    """Every batch's summary."""
    return JSONResponse(await run_in_threadpool(service(request).summaries.all))


async def batch(request: Request) -> JSONResponse:
    """One batch's summary."""
    summary = await run_in_threadpool(known_batch, service(request), request.path_params["batch"])
    return JSONResponse(summary)


def _jobs(request: Request) -> dict[str, Any]:
    svc = service(request)
    filters, page = filters_of(request)
    batch = request.path_params["batch"]
    known_batch(svc, batch)
    found = paginate(svc.index.rows(batch), filters, page, PAGE_SIZE)
    jobs = svc.shown_jobs([row.id for row in found.rows])
    return {
        "matching": found.matching,
        "page": found.page,
        "pages": found.pages,
        "jobs": [shown(build_row(job)).model_dump(mode="json") for job in jobs],
    }


async def jobs(request: Request) -> JSONResponse:
    """A page of a batch's jobs as report rows, filtered like the batch page."""
    return JSONResponse(await run_in_threadpool(_jobs, request))


async def job(request: Request) -> JSONResponse:
    """One job's report row, prompt and history."""
    found = await run_in_threadpool(job_or_404, service(request), request.path_params["job_id"])
    body = shown(build_row(found)).model_dump(mode="json")
    body["history"] = [event.model_dump(mode="json") for event in found.events]
    body["prompt"] = found.request.prompt
    return JSONResponse(body)


def _items(request: Request) -> dict[str, Any]:
    svc = service(request)
    filters, page = filters_of(request)
    batch = request.path_params["batch"]
    known_batch(svc, batch)
    found = paginate(svc.summaries.counted(batch).items, filters, page, PAGE_SIZE)
    return {
        "matching": found.matching,
        "page": found.page,
        "pages": found.pages,
        "items": [asdict(item) for item in found.rows],
    }


async def items(request: Request) -> JSONResponse:
    """A page of a batch's items (whole clips and single jobs), filtered like the batch page."""
    return JSONResponse(await run_in_threadpool(_items, request))


def _clip(request: Request) -> dict[str, Any]:
    svc = service(request)
    clip = clip_or_404(svc, request.path_params["clip_id"])
    jobs = svc.shown_jobs([*clip.segment_ids(), *clip.superseded])
    money = rollup(clip, {job.id: facts_of(job) for job in jobs})
    rows = {row.job_id: row for row in (shown(build_row(job)) for job in jobs)}
    return {
        "clip": shown(build_clip_row(clip, {job.id: facts_of(job) for job in jobs})).model_dump(
            mode="json"
        ),
        "rollup": asdict(money),
        "segments": [rows[job_id].model_dump(mode="json") for job_id in clip.segment_ids()
                     if job_id in rows],
        "superseded": [rows[job_id].model_dump(mode="json") for job_id in clip.superseded
                       if job_id in rows],
        "history": [event.model_dump(mode="json") for event in clip.events],
    }  # fmt: skip


async def clip(request: Request) -> JSONResponse:
    """One clip: its report row (cost rolled up), its roll-up, its segments in order, history."""
    return JSONResponse(await run_in_threadpool(_clip, request))
