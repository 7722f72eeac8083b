"""vibedream.ai: POST /api/v1/models/gen4-aleph/generate, GET /api/v1/predictions/{id}.

Quirks: no seed, no 21:9 (catalogue); the same flat object answers submit and poll;
``outputs`` is null until ``completed``; a failure is a plain string in ``error`` with no
structured cause, so every failure counts as a generation failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from config.catalogue import ProviderSpec
from config.settings import ProviderName
from jobs.failures import FailureKind
from jobs.request import EditRequest
from providers.adapter import ProviderAdapter, present
from providers.base import RemoteJob, RemoteState, RemoteStatus
from providers.http import read_answer
from providers.results import created_job, expires_at, failed, succeeded
from providers.validation import check_against_spec

NAME = ProviderName.VIBEDREAM
SUBMIT_PATH = "/api/v1/models/gen4-aleph/generate"


class _Prediction(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str | None = None
    status: Literal["processing", "completed", "failed"]
    outputs: list[str] | None = None
    error: str | None = None
    completed_at: AwareDatetime | None = Field(default=None, alias="completedAt")


validate_request = check_against_spec
"""Refuse what vibedream cannot take: the catalogue's checks (no seed, no 21:9)."""


def build_submit_body(request: EditRequest, spec: ProviderSpec) -> dict[str, Any]:
    """The JSON body of POST /api/v1/models/gen4-aleph/generate."""
    validate_request(request, spec)
    optional = present(
        aspect_ratio=request.aspect_ratio, reference_image=request.reference_image_url
    )
    return {"prompt": request.prompt, "video": request.video_url, **optional}


parse_submit = created_job
"""``{"id": ..., "status": "processing", "statusUrl": ...}`` -> `RemoteJob`."""


def parse_poll(
    status: int, headers: Mapping[str, str], body: bytes, *, spec: ProviderSpec, now: datetime
) -> RemoteStatus:
    """A prediction object -> `RemoteStatus`; expiry counts from ``completedAt``."""
    found = read_answer(NAME.value, status, headers, body, now, _Prediction)
    raw = found.model_dump(mode="json", by_alias=True, exclude_none=True)
    if found.status == "completed":
        return succeeded(spec, found.outputs or [], expires_at(spec, now, found.completed_at), raw)
    if found.status == "failed":
        return failed(FailureKind.GENERATION, found.error, raw)
    return RemoteStatus(state=RemoteState.RUNNING, raw=raw)


class VibedreamAdapter(ProviderAdapter):
    """vibedream.ai's prediction API."""

    name = NAME

    def submit(self, request: EditRequest, client_request_id: str) -> RemoteJob:
        """POST the generate endpoint once; raises `InvalidRequest` before sending a bad one."""
        body = build_submit_body(request, self.spec)
        return self.post_edit(parse_submit, SUBMIT_PATH, body, client_request_id)

    def poll(self, remote_id: str, *, submitted_at: datetime | None = None) -> RemoteStatus:
        """GET /api/v1/predictions/{id}."""
        return self.exchange(parse_poll, "GET", f"/api/v1/predictions/{quote(remote_id, safe='')}")
