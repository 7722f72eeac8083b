"""The JSON API: batch summaries, a batch's jobs (filtered, paged) and one job's report row.

Answers carry what the pages show and nothing more: key ids, never keys; no presigned URL.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from producer.report import build_row
from web.index import paginate
from web.pages import shown
from web.views import PAGE_SIZE, filters_of, job_or_404, known_batch, service


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
