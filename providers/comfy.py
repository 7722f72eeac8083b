"""Comfy Router passing Runway's aleph2 through: queued delivery on ``/v2/models/runway/aleph2``.

``POST /v2/models/runway/aleph2/requests`` takes Runway's own aleph2 body without ``model`` (the
path names it) and answers 201 with a ``request_id``; ``GET .../requests/{id}/status`` says
where the run stands and ``GET .../requests/{id}`` gives the model's native output (a Runway
task: ``output`` holds the URLs). ``X-API-Key`` authenticates; errors are ``{"detail": ...}``
with the category in ``X-Comfy-Error-Type``.

Comfy documents honouring ``Idempotency-Key`` for 24 hours: a re-send with the same key
collects the first run (``Idempotent-Replayed: true``) and "is not a second Comfy charge". So a
re-send after a lost answer is provably paid once (`config.catalogue.ProviderSpec.
honours_idempotency`), and restyle mints the key once per paid try (`jobs.request_ids`).
The status and result shapes are unconfirmed (the catalogue says so).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from config.catalogue import ProviderSpec
from config.settings import ProviderName
from jobs.failures import FailureKind
from jobs.request import EditRequest
from providers import runway
from providers.adapter import ProviderAdapter
from providers.base import RemoteJob, RemoteState, RemoteStatus
from providers.errors import InsufficientCredits
from providers.http import SUBMIT_ERRORS, read_answer
from providers.results import expires_at, failed, remote_job, succeeded

NAME = ProviderName.COMFY
MODEL_PATH = "/v2/models/runway/aleph2"
SUBMIT_PATH = f"{MODEL_PATH}/requests"
REPLAYED = "idempotent-replayed"
ERRORS = {402: InsufficientCredits}

_STATES: dict[str, RemoteState] = {
    "queued": RemoteState.QUEUED,
    "in_progress": RemoteState.RUNNING,
    "completed": RemoteState.SUCCEEDED,
    "failed": RemoteState.FAILED,
    "cancelled": RemoteState.CANCELLED,
}


class _Submitted(BaseModel):
    model_config = ConfigDict(extra="ignore")

    request_id: str = Field(min_length=1)


class _Status(BaseModel):
    model_config = ConfigDict(extra="ignore")

    request_id: str
    status: Literal["queued", "in_progress", "completed", "failed", "cancelled"]
    error: str | None = None


class _Output(BaseModel):
    model_config = ConfigDict(extra="ignore")

    output: list[str] = Field(default_factory=list)


def build_submit_body(request: EditRequest, spec: ProviderSpec) -> dict[str, Any]:
    """Runway's aleph2 body, without ``model``: on this route the path names the model."""
    body = runway.build_submit_body(request, spec)
    del body["model"]
    return body


def parse_submit(
    status: int, headers: Mapping[str, str], body: bytes, *, spec: ProviderSpec, now: datetime
) -> RemoteJob:
    """``201 {"request_id", ...}`` -> `RemoteJob`, ``replayed`` when Comfy says so."""
    found = read_answer(NAME.value, status, headers, body, now, _Submitted,
                        {**SUBMIT_ERRORS, **ERRORS})  # fmt: skip
    replayed = str(headers.get(REPLAYED, "")).lower() == "true"
    return replace(remote_job(found.request_id, spec, now), replayed=replayed)


def parse_status(
    status: int, headers: Mapping[str, str], body: bytes, *, spec: ProviderSpec, now: datetime
) -> RemoteStatus:
    """``GET .../requests/{id}/status`` -> `RemoteStatus` (completed: the URLs come next)."""
    found = read_answer(NAME.value, status, headers, body, now, _Status, ERRORS)
    raw = found.model_dump(exclude_none=True)
    state = _STATES[found.status]
    if state is RemoteState.FAILED:
        return failed(FailureKind.GENERATION, found.error, raw)
    return RemoteStatus(state=state, raw=raw)


def parse_result(
    status: int, headers: Mapping[str, str], body: bytes, *, spec: ProviderSpec, now: datetime
) -> RemoteStatus:
    """``GET .../requests/{id}``: the native Runway output of a completed run."""
    found = read_answer(NAME.value, status, headers, body, now, _Output, ERRORS)
    return succeeded(spec, found.output, expires_at(spec, now), found.model_dump())


class ComfyAdapter(ProviderAdapter):
    """Comfy Router's queued route for runway/aleph2."""

    name = NAME

    @staticmethod
    def auth_headers(api_key: SecretStr) -> dict[str, str]:
        """``X-API-Key`` (Comfy also takes it as a Bearer token)."""
        return {"X-API-Key": api_key.get_secret_value()}

    @staticmethod
    def check(request: EditRequest, spec: ProviderSpec) -> None:
        """Runway's rules: the body is Runway's."""
        runway.validate_request(request, spec)

    def submit(self, request: EditRequest, client_request_id: str) -> RemoteJob:
        """POST .../requests once with ``Idempotency-Key: client_request_id``."""
        body = build_submit_body(request, self.spec)
        return self.post_edit(parse_submit, SUBMIT_PATH, body, client_request_id)

    def poll(self, remote_id: str, *, submitted_at: datetime | None = None) -> RemoteStatus:
        """GET the status; once completed, GET the result for the output URLs."""
        path = f"{SUBMIT_PATH}/{quote(remote_id, safe='')}"
        found = self.exchange(parse_status, "GET", f"{path}/status")
        if found.state is not RemoteState.SUCCEEDED:
            return found
        return self.exchange(parse_result, "GET", path)
