"""OpenRouter's video API selling Aleph 2 (``runway/aleph-2``): ``POST /api/v1/videos``, ``GET
/api/v1/videos/{id}``, and signed webhooks to a ``callback_url``.

Documented: the submit answers ``{id, polling_url, status: "pending"}``; a job is ``pending``,
``in_progress``, ``completed``, ``failed``, ``cancelled`` or ``expired``; a completed one carries
``urls`` (signed storage URLs) and ``unsigned_urls`` (the authenticated content proxy), and
``usage.cost``, what it was billed in USD; ``error`` says why one failed. A delivery to
``callback_url`` is signed (`pipeline.webhooks`). Unconfirmed (the catalogue says so): how the
source video is passed to runway/aleph-2 (``input_references`` here), and its limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field

from config.catalogue import ProviderSpec
from config.redaction import Redactor
from config.settings import ProviderName
from jobs.failures import FailureKind
from jobs.request import EditRequest
from providers.adapter import Clock, ProviderAdapter, present, utcnow
from providers.base import RemoteJob, RemoteState, RemoteStatus
from providers.http import SUBMIT_ERRORS, read_answer
from providers.results import expires_at, failed, remote_job, succeeded
from providers.validation import check_against_spec

NAME = ProviderName.OPENROUTER
SUBMIT_PATH = "/api/v1/videos"

_STATES: dict[str, RemoteState] = {
    "pending": RemoteState.QUEUED,
    "in_progress": RemoteState.RUNNING,
    "completed": RemoteState.SUCCEEDED,
    "failed": RemoteState.FAILED,
    "cancelled": RemoteState.CANCELLED,
    "expired": RemoteState.FAILED,
}


class _Usage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    cost: float | None = Field(default=None, ge=0)


class _Video(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)
    status: Literal["pending", "in_progress", "completed", "failed", "cancelled", "expired"]
    urls: list[str] = Field(default_factory=list)
    unsigned_urls: list[str] = Field(default_factory=list)
    usage: _Usage | None = None
    error: str | None = None


validate_request = check_against_spec
"""The catalogue's checks (nothing more is documented for runway/aleph-2)."""


def build_submit_body(
    request: EditRequest, spec: ProviderSpec, callback_url: str | None = None
) -> dict[str, Any]:
    """The JSON body of POST /videos."""
    validate_request(request, spec)
    source = {"type": "video_url", "video_url": {"url": request.video_url}}  # unconfirmed
    optional = present(
        aspect_ratio=request.aspect_ratio, seed=request.seed, callback_url=callback_url
    )
    return {"model": spec.model, "prompt": request.prompt, "input_references": [source],
            **optional}  # fmt: skip


def parse_submit(
    status: int, headers: Mapping[str, str], body: bytes, *, spec: ProviderSpec, now: datetime
) -> RemoteJob:
    """``{"id", "polling_url", "status"}`` -> `RemoteJob`."""
    found = read_answer(NAME.value, status, headers, body, now, _Video, SUBMIT_ERRORS)
    return remote_job(found.id, spec, now)


def video_status(found: _Video, spec: ProviderSpec, now: datetime) -> RemoteStatus:
    """A video job as `RemoteStatus`, with ``usage.cost`` as the bill once it ended."""
    raw = found.model_dump(exclude_none=True)
    state = _STATES[found.status]
    bill = found.usage.cost if found.usage is not None else None
    if state is RemoteState.SUCCEEDED:
        done = succeeded(spec, found.urls or found.unsigned_urls, expires_at(spec, now), raw)
        return replace(done, billed_cost_usd=bill)
    if state is RemoteState.FAILED:
        kind = FailureKind.PROVIDER if found.status == "expired" else FailureKind.GENERATION
        return replace(failed(kind, found.error, raw), billed_cost_usd=bill)
    return RemoteStatus(state=state, raw=raw, billed_cost_usd=bill if state.terminal else None)


def webhook_cost(data: object) -> float | None:
    """The ``usage.cost`` a webhook's body (the job as ``GET /videos/{id}`` shows it) bills for
    its ended job; None while it runs or when it gives none. ValueError (pydantic's) when the
    body is no video job."""
    found = _Video.model_validate(data)
    if not _STATES[found.status].terminal or found.usage is None:
        return None
    return found.usage.cost


def parse_poll(
    status: int, headers: Mapping[str, str], body: bytes, *, spec: ProviderSpec, now: datetime
) -> RemoteStatus:
    """``GET /videos/{id}`` -> `RemoteStatus`."""
    return video_status(read_answer(NAME.value, status, headers, body, now, _Video), spec, now)


class OpenRouterAdapter(ProviderAdapter):
    """OpenRouter's video API; optionally asks for a signed webhook at ``callback_url``."""

    name = NAME

    def __init__(
        self,
        spec: ProviderSpec,
        client: httpx.Client,
        clock: Clock = utcnow,
        callback_url: str | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        super().__init__(spec, client, clock, redactor)
        self.callback_url = callback_url

    def submit(self, request: EditRequest, client_request_id: str) -> RemoteJob:
        """POST /videos once; raises `InvalidRequest` before sending a bad request."""
        body = build_submit_body(request, self.spec, self.callback_url)
        return self.post_edit(parse_submit, SUBMIT_PATH, body, client_request_id)

    def poll(self, remote_id: str, *, submitted_at: datetime | None = None) -> RemoteStatus:
        """GET /api/v1/videos/{id}."""
        return self.exchange(parse_poll, "GET", f"{SUBMIT_PATH}/{quote(remote_id, safe='')}")
