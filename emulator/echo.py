"""The ``echo_credentials`` knob: answers that quote the caller's credential back.

Some real APIs put the credential they were sent into an error text ("invalid key: sk-..."). With
the knob on, every error body and every failed remote job's reason carries the credential
header exactly as the caller sent it (``Bearer key_...`` or the bare ``x-api-key`` value), so a
test can prove restyle never stores or shows it.

It rewrites finished JSON answers, whatever the protocol, by where each one keeps its words:

- an error answer (HTTP status >= 400): its ``error``, ``detail`` and ``message`` strings
  (runway, segmind and vibedream ``{"error"}``, aimlapi ``{"message", ...}``, crun's envelope
  ``message``, Comfy's ``{"detail"}``, OpenRouter's ``{"error": {"message"}}``);
- a failed job inside a 200: a non-empty ``error`` or ``failure`` string, an ``error`` object's
  ``message`` (aimlapi), and the ``message`` of crun's ``result`` when its code is not 200.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

REASON_FIELDS = ("error", "failure", "detail")  # detail: Comfy Router's error body


def credential_of(request: Request) -> str | None:
    """The credential header's value as the caller sent it."""
    return request.headers.get("authorization") or request.headers.get("x-api-key") or None


def echo_credential(response: Response, credential: str) -> Response:
    """``response`` with ``credential`` appended to each of its error and failure texts."""
    if not isinstance(response, JSONResponse):
        return response
    try:
        body = json.loads(bytes(response.body))
    except ValueError:
        return response
    echoed = _echo(body, credential, failed=response.status_code >= 400)
    if echoed == body:
        return response
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return JSONResponse(echoed, status_code=response.status_code, headers=headers)


def _echo(value: Any, credential: str, failed: bool) -> Any:
    if not isinstance(value, dict):
        return value
    return {name: _field(name, item, credential, failed) for name, item in value.items()}


def _field(name: str, item: Any, credential: str, failed: bool) -> Any:
    if isinstance(item, str) and item and _is_reason(name, failed):
        return f"{item} (credential sent: {credential})"
    if name == "error" and isinstance(item, dict):
        return _echo(item, credential, failed=True)
    if name == "result" and isinstance(item, dict):
        return _echo(item, credential, failed=item.get("code") not in (None, 200))
    if name == "data" and isinstance(item, dict):
        return _echo(item, credential, failed)
    return item


def _is_reason(name: str, failed: bool) -> bool:
    return name in REASON_FIELDS or (failed and name == "message")
