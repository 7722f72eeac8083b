"""The POST actions, each one call of `pipeline.operations` (the CLI's own): cancel, retry and
re-run a job, a clip (re-run one segment with a new prompt or seed) or a batch. The web owns no
operation; it checks the form and publishes what the operation left to send. Each action needs
actions enabled, the form's CSRF token and a same-origin request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from jobs.clips.record import Clip
from pipeline.operations.cancelling import batch_message, cancel_batch, cancel_clip, cancel_job
from pipeline.operations.rerunning import rerun_job, rerun_segment
from pipeline.operations.retrying import retry_batch, retry_clip, retry_one
from pipeline.operations.sends import Outcome
from web.csrf import FIELD, same_origin
from web.guards import safe_back
from web.service import Service
from web.views import clip_or_404, job_or_404, service, user

MAX_FORM_BYTES = 16 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"

Fields = dict[str, str]
Work = Callable[[Service, str, Fields, datetime], Outcome]


async def _checked_form(request: Request) -> Fields:
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


def _seed(fields: Fields) -> int | None:
    text = fields.get("seed", "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"seed: {text!r} is not a whole number") from None


def _retry_job(svc: Service, job_id: str, fields: Fields, now: datetime) -> Outcome:
    return retry_one(svc.ledger, svc.clips, job_or_404(svc, job_id), now)


def _cancel_job(svc: Service, job_id: str, fields: Fields, now: datetime) -> Outcome:
    job = job_or_404(svc, job_id)
    return Outcome(f"{job.item}: {cancel_job(svc.context(), job.id, now)}")


def _rerun_job(svc: Service, job_id: str, fields: Fields, now: datetime) -> Outcome:
    job = job_or_404(svc, job_id)
    return rerun_job(svc.ledger, svc.settings, job, now, fields.get("prompt"), _seed(fields))


def _retry_batch(svc: Service, batch: str, fields: Fields, now: datetime) -> Outcome:
    return retry_batch(svc.ledger, svc.clips, batch, now)


def _cancel_batch(svc: Service, batch: str, fields: Fields, now: datetime) -> Outcome:
    return Outcome(batch_message(*cancel_batch(svc.context(), batch, now)))


def _retry_clip(svc: Service, clip_id: str, fields: Fields, now: datetime) -> Outcome:
    return retry_clip(svc.ledger, svc.clips, clip_or_404(svc, clip_id).id, now)


def _cancel_clip(svc: Service, clip_id: str, fields: Fields, now: datetime) -> Outcome:
    clip: Clip = clip_or_404(svc, clip_id)
    return Outcome(f"{clip.item}: {cancel_clip(svc.context(), clip.id, now)}")


def _rerun_segment(svc: Service, target: str, fields: Fields, now: datetime) -> Outcome:
    clip_id, _, index = target.partition("/")
    clip = clip_or_404(svc, clip_id)
    try:
        number = int(index)
    except ValueError:
        raise HTTPException(404, f"no segment {index}") from None
    return rerun_segment(svc.ledger, svc.clips, svc.settings, clip.id, number, now,
                         fields.get("prompt"), _seed(fields))  # fmt: skip


def _run_now(svc: Service, work: Work, target: str, fields: Fields) -> str:
    outcome = work(svc, target, fields, datetime.now(UTC))
    svc.send(outcome.sends)
    return outcome.message


async def _run(request: Request, work: Work, target: str) -> Response:
    fields = await _checked_form(request)
    back = safe_back(request.headers.get("referer"), request.headers.get("host"))
    svc = service(request)
    try:
        message = await run_in_threadpool(_run_now, svc, work, target, fields)
    except ValueError as exc:
        return _answer(request, str(exc), back, 400)
    # The page that follows an action shows its effect, not the index's last refresh.
    svc.index.expire()
    return _answer(request, message, back)


async def retry_job(request: Request) -> Response:
    """Queue a FAILED, EXPIRED or CANCELLED job again (a segment reopens its clip)."""
    return await _run(request, _retry_job, request.path_params["job_id"])


async def cancel_one(request: Request) -> Response:
    """Cancel one job."""
    return await _run(request, _cancel_job, request.path_params["job_id"])


async def rerun(request: Request) -> Response:
    """Re-run a STORED job with the edited prompt or seed (a new paid try)."""
    return await _run(request, _rerun_job, request.path_params["job_id"])


async def retry_batch_action(request: Request) -> Response:
    """Queue every FAILED and EXPIRED job of a batch again and reopen its failed clips."""
    return await _run(request, _retry_batch, request.path_params["batch"])


async def cancel_batch_action(request: Request) -> Response:
    """Cancel every unfinished clip and job of a batch."""
    return await _run(request, _cancel_batch, request.path_params["batch"])


async def retry_clip_action(request: Request) -> Response:
    """Retry a clip's failed segments (or its cut or stitch)."""
    return await _run(request, _retry_clip, request.path_params["clip_id"])


async def cancel_clip_action(request: Request) -> Response:
    """Cancel a clip and its unfinished segments."""
    return await _run(request, _cancel_clip, request.path_params["clip_id"])


async def rerun_segment_action(request: Request) -> Response:
    """Re-run one segment of a stored clip with a new prompt or seed; the clip is re-stitched."""
    target = f"{request.path_params['clip_id']}/{request.path_params['index']}"
    return await _run(request, _rerun_segment, target)
