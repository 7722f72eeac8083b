"""segmind.com, async v2: POST /v2/runway-gen4-aleph, GET /v2/requests/{id}/status, then the result.

Quirks: a FAILED job is served as HTTP 422 whose body still carries ``{"status":"FAILED",...}``;
content blocks surface as FAILED with no structured cause (so they count as generation
failures); status and result are kept one hour after *submission*, then 404.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from config.catalogue import ProviderSpec
from config.settings import ProviderName
from jobs.failures import FailureKind
from jobs.request import EditRequest
from providers.adapter import ProviderAdapter, present
from providers.base import RemoteJob, RemoteState, RemoteStatus
from providers.errors import InsufficientCredits
from providers.http import SUBMIT_ERRORS, decode, load_json, raise_for_status, read_answer
from providers.results import failed, remote_job, succeeded
from providers.validation import check_against_spec

NAME = ProviderName.SEGMIND
SUBMIT_PATH = "/v2/runway-gen4-aleph"
FAILED_STATUS = 422

ERRORS = {406: InsufficientCredits}
"""Segmind's "Insufficient Credits" (406 from memory in providers.md; unconfirmed)."""

_STATES: dict[str, RemoteState] = {
    "QUEUED": RemoteState.QUEUED,
    "PROCESSING": RemoteState.RUNNING,
    "COMPLETED": RemoteState.SUCCEEDED,
    "FAILED": RemoteState.FAILED,
}


class _Submitted(BaseModel):
    model_config = ConfigDict(extra="ignore")

    request_id: str = Field(min_length=1)


class _Metrics(BaseModel):
    model_config = ConfigDict(extra="ignore")

    inference_time: float | None = Field(default=None, ge=0, allow_inf_nan=False)


class _Status(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["QUEUED", "PROCESSING", "COMPLETED", "FAILED"]
    error: str | None = None
    metrics: _Metrics = Field(default_factory=_Metrics)
    output: str | None = None


validate_request = check_against_spec
"""Refuse what segmind cannot take: the catalogue's checks."""


def build_submit_body(request: EditRequest, spec: ProviderSpec) -> dict[str, Any]:
    """The JSON body of POST /v2/runway-gen4-aleph."""
    validate_request(request, spec)
    optional = present(
        aspect_ratio=request.aspect_ratio,
        seed=request.seed,
        reference_image=request.reference_image_url,
    )
    return {"prompt": request.prompt, "video": request.video_url, **optional}


def parse_submit(
    status: int, headers: Mapping[str, str], body: bytes, *, spec: ProviderSpec, now: datetime
) -> RemoteJob:
    """``{"request_id": ..., "status": "QUEUED", ...}`` -> `RemoteJob`."""
    errors = {**SUBMIT_ERRORS, **ERRORS}
    found = read_answer(NAME.value, status, headers, body, now, _Submitted, errors)
    return remote_job(found.request_id, spec, now)


def parse_status(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    spec: ProviderSpec,
    now: datetime,
    submitted_at: datetime | None = None,
) -> RemoteStatus:
    """A GET /v2/requests/{id}/status body -> `RemoteStatus`.

    COMPLETED comes back as SUCCEEDED without output URLs: the caller then fetches the result.
    """
    found = _read(status, headers, body, now)
    raw = found.model_dump(exclude_none=True)
    state = _STATES[found.status]
    if state is RemoteState.FAILED:
        return failed(FailureKind.GENERATION, found.error, raw)
    if state is RemoteState.SUCCEEDED and found.output is not None:
        return succeeded(spec, [found.output], expiry(spec, now, submitted_at, found), raw)
    return RemoteStatus(state=state, raw=raw)


def parse_result(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    spec: ProviderSpec,
    now: datetime,
    submitted_at: datetime | None = None,
) -> RemoteStatus:
    """A GET /v2/requests/{id} body -> `RemoteStatus`; COMPLETED must carry ``output``."""
    found = _read(status, headers, body, now)
    if found.status == "COMPLETED":
        raw = found.model_dump(exclude_none=True)
        urls = [found.output] if found.output else []
        return succeeded(spec, urls, expiry(spec, now, submitted_at, found), raw)
    return parse_status(status, headers, body, spec=spec, now=now, submitted_at=submitted_at)


def _read(status: int, headers: Mapping[str, str], body: bytes, now: datetime) -> _Status:
    _raise_unless_failed_body(status, headers, body, now)
    return decode(NAME.value, body, _Status)


def _raise_unless_failed_body(
    status: int, headers: Mapping[str, str], body: bytes, now: datetime
) -> None:
    if status == FAILED_STATUS:
        payload = load_json(body)
        if isinstance(payload, dict) and payload.get("status") == "FAILED":
            return
    raise_for_status(NAME.value, status, headers, body, now, ERRORS)


def expiry(
    spec: ProviderSpec, now: datetime, submitted_at: datetime | None, found: _Status
) -> datetime:
    """One retention after submission. Without ``submitted_at``, assume the job was submitted
    at least max(inference time, typical duration) ago: an estimate that errs early."""
    if submitted_at is None:
        took = max(found.metrics.inference_time or 0.0, spec.typical_duration_s)
        submitted_at = now - timedelta(seconds=took)
    return submitted_at + timedelta(seconds=spec.retention_s)


class SegmindAdapter(ProviderAdapter):
    """segmind.com's async (v2) API."""

    name = NAME

    @staticmethod
    def auth_headers(api_key: SecretStr) -> dict[str, str]:
        """``x-api-key``; segmind rejects Bearer."""
        return {"x-api-key": api_key.get_secret_value()}

    def submit(self, request: EditRequest, client_request_id: str) -> RemoteJob:
        """POST /v2/runway-gen4-aleph once; raises `InvalidRequest` before sending a bad one."""
        body = build_submit_body(request, self.spec)
        return self.post_edit(parse_submit, SUBMIT_PATH, body, client_request_id)

    def poll(self, remote_id: str, *, submitted_at: datetime | None = None) -> RemoteStatus:
        """GET the status; when COMPLETED, GET the result for the output URL.

        Pass ``submitted_at`` for an exact ``expires_at`` (retention runs from submission).
        Raises `ResultExpired` on 404 (unknown id, or more than an hour since submission).
        """
        path = f"/v2/requests/{quote(remote_id, safe='')}"
        status = partial(parse_status, submitted_at=submitted_at)
        found = self.exchange(status, "GET", f"{path}/status")
        if found.state is not RemoteState.SUCCEEDED or found.output_urls:
            return found
        return self.exchange(partial(parse_result, submitted_at=submitted_at), "GET", path)
