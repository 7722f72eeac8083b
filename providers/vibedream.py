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

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr

from config.catalogue import ProviderSpec
from config.settings import ProviderName
from providers.adapter import HttpAdapter, idempotency
from providers.base import RemoteJob, RemoteState, RemoteStatus
from providers.errors import FailureKind
from providers.http import SUBMIT_ERRORS, decode, raise_for_status
from providers.request import EditRequest
from providers.results import expires_at, failed, remote_job, succeeded
from providers.validation import check_against_spec

NAME = ProviderName.VIBEDREAM
SUBMIT_PATH = "/api/v1/models/gen4-aleph/generate"


class _Created(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)


class _Prediction(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str | None = None
    status: Literal["processing", "completed", "failed"]
    outputs: list[str] | None = None
    error: str | None = None
    completed_at: AwareDatetime | None = Field(default=None, alias="completedAt")


def validate_request(request: EditRequest, spec: ProviderSpec) -> None:
    """Refuse what vibedream cannot take (no seed, no 21:9: from the catalogue)."""
    check_against_spec(request, spec)


def build_submit_body(request: EditRequest, spec: ProviderSpec) -> dict[str, Any]:
    """The JSON body of POST /api/v1/models/gen4-aleph/generate."""
    validate_request(request, spec)
    body: dict[str, Any] = {"prompt": request.prompt, "video": request.video_url}
    if request.aspect_ratio is not None:
        body["aspect_ratio"] = request.aspect_ratio
    if request.reference_image_url is not None:
        body["reference_image"] = request.reference_image_url
    return body


def parse_submit(
    status: int, headers: Mapping[str, str], body: bytes, *, spec: ProviderSpec, now: datetime
) -> RemoteJob:
    """``{"id": ..., "status": "processing", "statusUrl": ...}`` -> `RemoteJob`."""
    raise_for_status(NAME.value, status, headers, body, now, SUBMIT_ERRORS)
    return remote_job(decode(NAME.value, body, _Created).id, spec, now)


def parse_poll(
    status: int, headers: Mapping[str, str], body: bytes, *, spec: ProviderSpec, now: datetime
) -> RemoteStatus:
    """A prediction object -> `RemoteStatus`; expiry counts from ``completedAt``."""
    raise_for_status(NAME.value, status, headers, body, now)
    found = decode(NAME.value, body, _Prediction)
    raw = found.model_dump(mode="json", by_alias=True, exclude_none=True)
    if found.status == "completed":
        return succeeded(spec, found.outputs or [], expires_at(spec, now, found.completed_at), raw)
    if found.status == "failed":
        return failed(FailureKind.GENERATION, found.error, raw)
    return RemoteStatus(state=RemoteState.RUNNING, raw=raw)


class VibedreamAdapter(HttpAdapter):
    """vibedream.ai's prediction API."""

    name = NAME

    @staticmethod
    def auth_headers(api_key: SecretStr) -> dict[str, str]:
        """Bearer key."""
        return {"Authorization": f"Bearer {api_key.get_secret_value()}"}

    @staticmethod
    def check(request: EditRequest, spec: ProviderSpec) -> None:
        """See `validate_request`."""
        validate_request(request, spec)

    def submit(self, request: EditRequest, client_request_id: str) -> RemoteJob:
        """POST the generate endpoint once; raises `InvalidRequest` before sending a bad one."""
        body = build_submit_body(request, self.spec)
        with self.transport.guard():
            wire = self.transport.send(
                "POST", SUBMIT_PATH, json=body, headers=idempotency(client_request_id)
            )
            return parse_submit(*wire.parts(), spec=self.spec, now=self.clock())

    def poll(self, remote_id: str, *, submitted_at: datetime | None = None) -> RemoteStatus:
        """GET /api/v1/predictions/{id}."""
        with self.transport.guard():
            wire = self.transport.send("GET", f"/api/v1/predictions/{quote(remote_id, safe='')}")
            return parse_poll(*wire.parts(), spec=self.spec, now=self.clock())
