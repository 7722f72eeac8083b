"""``POST /callbacks/crun/{token}`` and ``/callbacks/openrouter/{token}``: verify the job's
token (and OpenRouter's signature), drop repeats, wake the job.

A wrong token, or the token of a job that has ended, is a 404 whatever the body; the body is
read up to the size limit only (413), refused when it nests deeper than `MAX_DEPTH` or is not a
readable callback (400), and used for nothing but the task id and status it names: the poll it
triggers is what counts, and a task is adopted only once crun confirms it is this job's
(`pipeline.callbacks.task_is_ours`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from config.catalogue import provider_spec
from config.settings import ProviderName
from pipeline.callbacks import (
    Received,
    TokenOwner,
    first_delivery,
    first_seen,
    forget,
    owner_of_token,
    receive,
    task_is_ours,
)
from pipeline.double_charges import confirm_by_lookup, is_extra, record_extra
from pipeline.webhooks import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify
from providers.crun import parse_callback_body
from providers.errors import ProviderFailure
from providers.openrouter import webhook_cost
from web.metrics import CALLBACKS
from web.service import Service
from web.views import service

MAX_DEPTH = 32
"""crun's callback is the TaskInfo ``data`` object, four levels deep; deeper is not crun."""


class TooLarge(Exception):
    """The body passed the size limit."""


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def nesting_depth(body: bytes) -> int:
    """How deep the JSON arrays and objects of ``body`` nest (strings skipped), without parsing
    it, so that a 20,000-deep body never reaches the recursive parser. Pure."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def task_of(svc: Service, body: bytes) -> tuple[str, str] | None:
    """The task id and status a crun callback names, or None when the body cannot be read."""
    if nesting_depth(body) > MAX_DEPTH:
        return None
    try:
        data: Any = json.loads(body)
        spec = provider_spec(ProviderName.CRUN, svc.settings)
        task_id, status = parse_callback_body(data, spec=spec, now=datetime.now(UTC))
    except (ValueError, TypeError, RecursionError, ProviderFailure):
        return None
    return task_id, status.state.value


def _handle(svc: Service, token: str, body: bytes) -> Received | None:
    owner = owner_of_token(svc.redis, token)
    if owner is None:
        return None
    job_id = owner.job_id
    job = svc.ledger.get(job_id)
    if job is None or (job.state.terminal and owner.current):
        forget(svc.redis, job_id)  # the token dies with its job
        return None
    task = task_of(svc, body)
    if task is None:
        return Received("unreadable", "not a crun callback")
    if not first_seen(svc.redis, job_id, *task):
        return Received("duplicate", "already received")
    ctx = svc.context()
    if not owner.current and is_extra(job, task[0]):
        return confirm_by_lookup(ctx, job, task[0], datetime.now(UTC))
    return receive(
        svc.ledger,
        job_id,
        task[0],
        datetime.now(UTC),
        svc.poll_now,
        lambda job, remote_id: task_is_ours(ctx, job, remote_id),
    )


async def crun_callback(request: Request) -> Response:
    """Receive one crun callback: 404 for a wrong or dead token, 413 past the size limit, 400
    for a body that is no crun callback."""
    svc = service(request)
    try:
        body = await _body(request, svc.settings.web.callback_body_bytes)
    except TooLarge:
        CALLBACKS.labels("too_large").inc()
        return PlainTextResponse("body too large", status_code=413)
    received = await run_in_threadpool(_handle, svc, request.path_params["token"], body)
    if received is None:
        CALLBACKS.labels("unknown_token").inc()
        return PlainTextResponse("not found", status_code=404)
    CALLBACKS.labels(received.outcome).inc()
    if received.outcome == "unreadable":
        return PlainTextResponse("not a crun callback", status_code=400)
    return JSONResponse({"outcome": received.outcome})


def _openrouter(svc: Service, token: str, headers: dict[str, str], body: bytes) -> Response:
    """Verify one OpenRouter delivery and act on it; the answer to send back."""
    owner = owner_of_token(svc.redis, token)
    if owner is None:
        CALLBACKS.labels("unknown_token").inc()
        return PlainTextResponse("not found", status_code=404)
    secret = svc.settings.openrouter_webhook_secret
    if secret is None:
        CALLBACKS.labels("unsigned").inc()
        return PlainTextResponse("not found", status_code=404)
    now = datetime.now(UTC)
    signature = headers.get(SIGNATURE_HEADER)
    verdict = verify(secret.get_secret_value(), signature, body, now.timestamp())
    if not verdict.ok:
        CALLBACKS.labels("bad_signature").inc()
        return PlainTextResponse(verdict.reason, status_code=401)
    delivery = headers.get(IDEMPOTENCY_HEADER, "")
    if not delivery or not first_delivery(svc.redis, delivery):
        CALLBACKS.labels("replayed").inc()
        return PlainTextResponse("delivery already received", status_code=409)
    # The signature proves OpenRouter sent this body to this job's own URL: the video it names
    # was made for this job's request, so no task lookup is needed before adopting it.
    received = _act(svc, owner, _video_id(body), body, now)
    CALLBACKS.labels(received.outcome).inc()
    return JSONResponse({"outcome": received.outcome})


def _act(
    svc: Service, owner: TokenOwner, video: str | None, body: bytes, now: datetime
) -> Received:
    """Wake or adopt (`receive`); or, on an earlier try's URL, record the extra paid ``video``
    it names (`pipeline.double_charges`)."""
    job = None if owner.current or video is None else svc.ledger.get(owner.job_id)
    if job is not None and video is not None and is_extra(job, video):
        bill = _bill(body)
        if bill is None:
            return Received("ignored", "an earlier try's video, not ended: its end bills it")
        return record_extra(svc.context(), job, video, bill, now)
    return receive(svc.ledger, owner.job_id, video, now, svc.poll_now, lambda j, r: None)


def _video_id(body: bytes) -> str | None:
    try:
        data: Any = json.loads(body)
    except ValueError:
        return None
    found = data.get("id") if isinstance(data, dict) else None
    return found if isinstance(found, str) and found else None


def _bill(body: bytes) -> float | None:
    """The ``usage.cost`` of the finished video a delivery carries; None when it carries none
    or is no readable video job."""
    if nesting_depth(body) > MAX_DEPTH:
        return None
    try:
        return webhook_cost(json.loads(body))
    except (ValueError, TypeError, RecursionError):
        return None


async def openrouter_callback(request: Request) -> Response:
    """Receive one signed OpenRouter webhook: 404 for a wrong token, 401 for a bad or stale
    signature, 409 for a delivery already received, 413 past the size limit."""
    svc = service(request)
    try:
        body = await _body(request, svc.settings.web.callback_body_bytes)
    except TooLarge:
        CALLBACKS.labels("too_large").inc()
        return PlainTextResponse("body too large", status_code=413)
    headers = {name.lower(): value for name, value in request.headers.items()}
    token = request.path_params["token"]
    return await run_in_threadpool(_openrouter, svc, token, headers, body)
