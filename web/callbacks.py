"""``POST /callbacks/crun/{token}`` and ``/callbacks/openrouter/{token}``: verify the job's
token (and OpenRouter's signature), drop repeats, wake the job.

A wrong token is a 404 whatever the body; the body is read up to the size limit only, and is
used for nothing but the remote id it names (the poll it triggers is what counts).
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
from pipeline.callbacks import Received, first_delivery, first_seen, job_of_token, receive
from pipeline.webhooks import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify
from providers.crun import parse_callback_body
from providers.errors import ProviderFailure
from web.metrics import CALLBACKS
from web.service import Service
from web.views import service


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


def remote_id_of(svc: Service, body: bytes) -> str | None:
    """The task id a crun callback names, or None when the body cannot be read."""
    try:
        data: Any = json.loads(body)
        spec = provider_spec(ProviderName.CRUN, svc.settings)
        task_id, _ = parse_callback_body(data, spec=spec, now=datetime.now(UTC))
    except (ValueError, TypeError, ProviderFailure):
        return None
    return task_id


def _handle(svc: Service, token: str, body: bytes) -> Received | None:
    job_id = job_of_token(svc.redis, token)
    if job_id is None:
        return None
    if not first_seen(svc.redis, job_id, body):
        return Received("duplicate", "already received")
    return receive(svc.ledger, job_id, remote_id_of(svc, body), datetime.now(UTC), svc.poll_now)


async def crun_callback(request: Request) -> Response:
    """Receive one crun callback: 404 for a wrong token, 413 past the size limit."""
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
    return JSONResponse({"outcome": received.outcome})


def _openrouter(svc: Service, token: str, headers: dict[str, str], body: bytes) -> Response:
    """Verify one OpenRouter delivery and act on it; the answer to send back."""
    job_id = job_of_token(svc.redis, token)
    if job_id is None:
        CALLBACKS.labels("unknown_token").inc()
        return PlainTextResponse("not found", status_code=404)
    secret = svc.settings.openrouter_webhook_secret
    if secret is None:
        CALLBACKS.labels("unsigned").inc()
        return PlainTextResponse("not found", status_code=404)
    now = datetime.now(UTC)
    verdict = verify(secret.get_secret_value(), headers.get(SIGNATURE_HEADER), body,
                     now.timestamp())  # fmt: skip
    if not verdict.ok:
        CALLBACKS.labels("bad_signature").inc()
        return PlainTextResponse(verdict.reason, status_code=401)
    delivery = headers.get(IDEMPOTENCY_HEADER, "")
    if not delivery or not first_delivery(svc.redis, delivery):
        CALLBACKS.labels("replayed").inc()
        return PlainTextResponse("delivery already received", status_code=409)
    received = receive(svc.ledger, job_id, _video_id(body), now, svc.poll_now)
    CALLBACKS.labels(received.outcome).inc()
    return JSONResponse({"outcome": received.outcome})


def _video_id(body: bytes) -> str | None:
    try:
        data: Any = json.loads(body)
    except ValueError:
        return None
    found = data.get("id") if isinstance(data, dict) else None
    return found if isinstance(found, str) and found else None


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
