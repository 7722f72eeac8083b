"""The POST actions, through the CLI's own functions: cancel (`pipeline.cancelling`), retry
(`pipeline.requeueing`), and a re-run of a stored job with an edited prompt (a new job, a new
paid try). Each needs actions enabled, the form's CSRF token and a same-origin request."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from jobs.models import Job
from jobs.request import EditRequest
from jobs.states import JobState
from pipeline.cancelling import cancel_job
from pipeline.requeueing import RETRYABLE_ENDS, requeue
from providers.errors import InvalidRequest
from providers.registry import validate_request
from web.csrf import FIELD, same_origin
from web.guards import safe_back
from web.service import Service
from web.views import job_or_404, service, user

BATCH_RETRY = frozenset({JobState.FAILED, JobState.EXPIRED})
"""What ``restyle retry BATCH`` retries by default."""
MAX_PROMPT = 2000
MAX_RERUNS = 100
MAX_FORM_BYTES = 16 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"


async def _checked_form(request: Request) -> dict[str, str]:
    svc = service(request)
    if not svc.settings.web.actions:
        raise HTTPException(403, "read-only: actions are off (RESTYLE_WEB__ACTIONS=true)")
    origin, host = request.headers.get("origin"), request.headers.get("host")
    if not same_origin(origin, host, request.url.scheme):
        raise HTTPException(403, "cross-site request refused")
    body = await request.body()
    if body and not request.headers.get("content-type", "").startswith(FORM_TYPE):
        raise HTTPException(415, f"send the form as {FORM_TYPE}")
    if len(body) > MAX_FORM_BYTES:
        raise HTTPException(413, "form too large")
    fields = {name: values[0] for name, values in parse_qs(body.decode(errors="replace")).items()}
    if not svc.csrf.valid(user(request), fields.get(FIELD)):
        raise HTTPException(403, "missing or wrong CSRF token")
    return fields


def _answer(request: Request, message: str, back: str, status: int = 200) -> Response:
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"message": message}, status_code=status)
    return RedirectResponse(back, status_code=303)


def retry_jobs(svc: Service, jobs: list[Job]) -> int:
    """Requeue ``jobs`` (CAS: a job that moved meanwhile is left alone) and dispatch them."""
    now = datetime.now(UTC)
    requeued = [new for job in jobs if (new := requeue(svc.ledger, job, now)) is not None]
    if requeued:
        svc.publish(requeued)
    return len(requeued)


def _retry_one(svc: Service, job_id: str) -> str:
    job = job_or_404(svc, job_id)
    if job.state not in RETRYABLE_ENDS:
        return f"{job.item} is {job.state}: nothing to retry"
    return f"requeued {job.item}" if retry_jobs(svc, [job]) else f"{job.item} had moved"


def _retry_batch(svc: Service, batch: str) -> str:
    jobs = [job for job in svc.ledger.get_many(svc.ledger.batch_ids(batch))]
    wanted = [job for job in jobs if job.state in BATCH_RETRY]
    return f"requeued {retry_jobs(svc, wanted)} of {len(wanted)} job(s) in {batch}"


def _cancel_batch(svc: Service, batch: str) -> str:
    ctx, now = svc.context(), datetime.now(UTC)
    outcomes = Counter(cancel_job(ctx, job_id, now) for job_id in svc.ledger.batch_ids(batch))
    return "; ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items())) or "no jobs"


def _cancel_one(svc: Service, job_id: str) -> str:
    job = job_or_404(svc, job_id)
    return f"{job.item}: {cancel_job(svc.context(), job.id, datetime.now(UTC))}"


def rerun_job(svc: Service, job: Job, prompt: str, now: datetime) -> Job:
    """A new job for ``job``'s clip with ``prompt``: a new item ``{item}.rerun{n}``, queued.

    Raises ValueError (the message says why) for a job that is not STORED or a bad prompt.
    """
    if job.state is not JobState.STORED:
        raise ValueError(f"only a STORED job can be re-run, {job.item} is {job.state}")
    try:
        request = EditRequest(**{**job.request.model_dump(), "prompt": prompt})
        validate_request(job.provider, svc.settings, request)
    except (ValidationError, InvalidRequest) as exc:
        raise ValueError(f"prompt: {exc}") from None
    # The first free number wins: adding is atomic, so two clicks make two distinct re-runs.
    for number in range(1, MAX_RERUNS + 1):
        new = _rerun_copy(job, request, f"{job.item}.rerun{number}", now)
        if svc.ledger.add([new])[0]:
            break
    else:
        raise ValueError(f"{job.item} has been re-run {MAX_RERUNS} times already")
    svc.publish([new])
    return new


def _rerun_copy(job: Job, request: EditRequest, item: str, now: datetime) -> Job:
    detail = f"re-run of {job.item} with an edited prompt"
    return job.derive(item, now, request=request).with_event(now, detail)


def _rerun(svc: Service, job_id: str, prompt: str) -> str:
    job = job_or_404(svc, job_id)
    new = rerun_job(svc, job, prompt.strip()[:MAX_PROMPT], datetime.now(UTC))
    return f"queued {new.item} (about ${new.estimated_cost_usd:.2f})"


async def _run(request: Request, work: Any, *args: Any) -> Response:
    fields = await _checked_form(request)
    back = safe_back(request.headers.get("referer"), request.headers.get("host"))
    extra = [fields.get("prompt", "")] if work is _rerun else []
    svc = service(request)
    try:
        message = await run_in_threadpool(work, svc, *args, *extra)
    except ValueError as exc:
        return _answer(request, str(exc), back, 400)
    # The page that follows an action shows its effect, not the index's last refresh.
    svc.index.expire()
    return _answer(request, message, back)


async def retry_job(request: Request) -> Response:
    """Queue a FAILED, EXPIRED or CANCELLED job again."""
    return await _run(request, _retry_one, request.path_params["job_id"])


async def cancel_one(request: Request) -> Response:
    """Cancel one job."""
    return await _run(request, _cancel_one, request.path_params["job_id"])


async def rerun(request: Request) -> Response:
    """Re-run a STORED job with the edited prompt (a new paid try)."""
    return await _run(request, _rerun, request.path_params["job_id"])


async def retry_batch(request: Request) -> Response:
    """Queue every FAILED and EXPIRED job of a batch again."""
    return await _run(request, _retry_batch, request.path_params["batch"])


async def cancel_batch(request: Request) -> Response:
    """Cancel every unfinished job of a batch."""
    return await _run(request, _cancel_batch, request.path_params["batch"])
