"""Runway's official API: POST /v1/video_to_video, GET and DELETE /v1/tasks/{id}.

Aleph is ``aleph2`` there (the catalogue's ``model``; ``gen4_aleph`` left Runway's API in
2026, the resellers still sell it). aleph2 takes ``videoUri``, an optional ``promptText``,
``seed``, up to 5 ``keyframes`` ``{seconds, uri}`` (its way of taking reference images),
``contentModeration``, ``outputFormat`` and ``targetAspectRatio`` (which letterboxes);
``ratio`` is deprecated and not sent. ``promptText`` is limited to 1000 UTF-16 code units
(unconfirmed for aleph2); ``failureCode`` is dot-separated, most generic first (``SAFETY.*``
moderation, ``INTERNAL*`` retryable, ``ASSET.*`` bad input); ``x-should-retry`` overrides
the status code's verdict.
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
from jobs.limits.tiers import KeyTier
from jobs.request import EditRequest
from providers.adapter import ProviderAdapter, present
from providers.base import RemoteJob, RemoteState, RemoteStatus
from providers.http import SUBMIT_ERRORS, raise_for_status, read_answer
from providers.results import expires_at, failed, remote_job, succeeded
from providers.validation import check_against_spec, refuse

NAME = ProviderName.RUNWAY
API_VERSION = "2024-11-06"
MAX_PROMPT_UTF16 = 1000
SUBMIT_PATH = "/v1/video_to_video"
ORGANIZATION_PATH = "/v1/organization"

_STATES: dict[str, RemoteState] = {
    "PENDING": RemoteState.QUEUED,
    "THROTTLED": RemoteState.QUEUED,
    "RUNNING": RemoteState.RUNNING,
    "SUCCEEDED": RemoteState.SUCCEEDED,
    "FAILED": RemoteState.FAILED,
    "CANCELLED": RemoteState.CANCELLED,
}

_FAILURE_PREFIXES: tuple[tuple[str, FailureKind], ...] = (
    ("SAFETY", FailureKind.MODERATION),
    ("INTERNAL", FailureKind.PROVIDER),
    ("ASSET", FailureKind.VALIDATION),
)


class _Credits(BaseModel):
    model_config = ConfigDict(extra="ignore")

    credits: float = Field(ge=0)


class _Created(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str = Field(min_length=1)
    estimated_cost: _Credits | None = Field(default=None, alias="estimatedCost")


class _Task(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str
    status: Literal["PENDING", "THROTTLED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"]
    progress: float | None = Field(default=None, ge=0, le=1)
    output: list[str] | None = None
    failure: str | None = None
    failure_code: str | None = Field(default=None, alias="failureCode")
    cost: _Credits | None = None


class _ModelLimits(BaseModel):
    model_config = ConfigDict(extra="ignore")

    max_concurrent_generations: int | None = Field(default=None, alias="maxConcurrentGenerations")
    max_daily_generations: int | None = Field(default=None, alias="maxDailyGenerations")


class _ModelUsage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    daily_generations: int = Field(default=0, alias="dailyGenerations")


class _Tier(BaseModel):
    model_config = ConfigDict(extra="ignore")

    models: dict[str, _ModelLimits] = Field(default_factory=dict)


class _Usage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    models: dict[str, _ModelUsage] = Field(default_factory=dict)


class _Organization(BaseModel):
    model_config = ConfigDict(extra="ignore")

    credit_balance: int | None = Field(default=None, alias="creditBalance")
    tier: _Tier
    usage: _Usage = Field(default_factory=_Usage)


def parse_organization(
    status: int, headers: Mapping[str, str], body: bytes, *, spec: ProviderSpec, now: datetime
) -> KeyTier:
    """``GET /v1/organization`` -> the key's limits for ``spec.model`` (None: unlimited)."""
    found = read_answer(NAME.value, status, headers, body, now, _Organization)
    limits = found.tier.models.get(spec.model, _ModelLimits())
    used = found.usage.models.get(spec.model, _ModelUsage())
    return KeyTier(
        concurrency=limits.max_concurrent_generations,
        daily_generations=limits.max_daily_generations,
        used_today=used.daily_generations,
        credit_balance=found.credit_balance,
    )


def validate_request(request: EditRequest, spec: ProviderSpec) -> None:
    """Refuse what Runway cannot take (catalogue checks plus the UTF-16 prompt limit)."""
    check_against_spec(request, spec)
    units = len(request.prompt.encode("utf-16-le")) // 2
    if units > MAX_PROMPT_UTF16:
        allowed = (f"at most {MAX_PROMPT_UTF16} UTF-16 code units (got {units})",)
        raise refuse(NAME.value, "prompt", request.prompt[:40] + "...", allowed)


def build_submit_body(request: EditRequest, spec: ProviderSpec) -> dict[str, Any]:
    """The JSON body of POST /v1/video_to_video for ``spec.model`` (aleph2)."""
    validate_request(request, spec)
    optional = present(
        seed=request.seed,
        keyframes=keyframes(request) or None,
        outputFormat=spec.output_format,
        targetAspectRatio=request.aspect_ratio,
        contentModeration=_moderation(spec),
    )
    return {"model": spec.model, "videoUri": request.video_url, "promptText": request.prompt,
            **optional}  # fmt: skip


def _moderation(spec: ProviderSpec) -> dict[str, str] | None:
    threshold = spec.public_figure_threshold
    return None if threshold is None else {"publicFigureThreshold": threshold}


def keyframes(request: EditRequest) -> list[dict[str, Any]]:
    """aleph2's ``keyframes``: the reference image at 0 s, then the request's own, in time order."""
    found = [(frame.seconds, frame.uri) for frame in request.keyframes]
    if request.reference_image_url is not None:
        found.append((0.0, request.reference_image_url))
    return [{"seconds": seconds, "uri": uri} for seconds, uri in sorted(found)]


def usd(credits: _Credits | None, spec: ProviderSpec) -> float | None:
    """Credits in USD at the catalogue's rate ($0.01 a credit); None when none were given."""
    if credits is None or spec.credit_usd is None:
        return None
    return round(credits.credits * spec.credit_usd, 6)


def parse_submit(
    status: int, headers: Mapping[str, str], body: bytes, *, spec: ProviderSpec, now: datetime
) -> RemoteJob:
    """``{"id", "estimatedCost": {"credits"}}`` -> `RemoteJob` with the most it may charge."""
    created = read_answer(NAME.value, status, headers, body, now, _Created, SUBMIT_ERRORS)
    job = remote_job(created.id, spec, now)
    return replace(job, estimated_cost_usd=usd(created.estimated_cost, spec))


def parse_poll(
    status: int, headers: Mapping[str, str], body: bytes, *, spec: ProviderSpec, now: datetime
) -> RemoteStatus:
    """A task object from GET /v1/tasks/{id} -> `RemoteStatus`."""
    task = read_answer(NAME.value, status, headers, body, now, _Task)
    raw = task.model_dump(by_alias=True, exclude_none=True)
    state = _STATES[task.status]
    # A finished task carries its bill (``cost``); a fully refunded one reports 0 credits.
    bill = usd(task.cost, spec)
    if state is RemoteState.SUCCEEDED:
        done = succeeded(spec, task.output or [], expires_at(spec, now), raw)
        return replace(done, billed_cost_usd=bill)
    if state is RemoteState.FAILED:
        found = failed(failure_kind(task.failure_code), task.failure or task.failure_code, raw)
        return replace(found, billed_cost_usd=bill)
    if state is RemoteState.CANCELLED:
        return RemoteStatus(state=state, billed_cost_usd=bill, raw=raw)
    return RemoteStatus(state=state, progress=task.progress, raw=raw)


def failure_kind(code: str | None) -> FailureKind:
    """The kind of a ``failureCode``, read from its most generic segment."""
    head = (code or "").split(".", 1)[0].upper()
    for prefix, kind in _FAILURE_PREFIXES:
        if head.startswith(prefix):
            return kind
    return FailureKind.GENERATION


def parse_cancel(status: int, headers: Mapping[str, str], body: bytes, *, now: datetime) -> None:
    """DELETE answers 2xx; a 404 means the task is already gone, which is what was asked."""
    if status == 404:
        return
    raise_for_status(NAME.value, status, headers, body, now)


class RunwayAdapter(ProviderAdapter):
    """Runway's own API (api.dev.runwayml.com)."""

    name = NAME

    @staticmethod
    def auth_headers(api_key: SecretStr) -> dict[str, str]:
        """Bearer key plus the required API version header."""
        return {**ProviderAdapter.auth_headers(api_key), "X-Runway-Version": API_VERSION}

    @staticmethod
    def check(request: EditRequest, spec: ProviderSpec) -> None:
        """See `validate_request`."""
        validate_request(request, spec)

    def submit(self, request: EditRequest, client_request_id: str) -> RemoteJob:
        """POST /v1/video_to_video once; raises `InvalidRequest` before sending a bad request."""
        body = build_submit_body(request, self.spec)
        return self.post_edit(parse_submit, SUBMIT_PATH, body, client_request_id)

    def tier(self) -> KeyTier:
        """GET /v1/organization: the key's concurrency and daily cap for the catalogue's model."""
        return self.exchange(parse_organization, "GET", ORGANIZATION_PATH)

    def poll(self, remote_id: str, *, submitted_at: datetime | None = None) -> RemoteStatus:
        """GET /v1/tasks/{id}; output URLs expire ``retention_s`` after this poll."""
        return self.exchange(parse_poll, "GET", _task_path(remote_id))

    def cancel(self, remote_id: str) -> None:
        """DELETE /v1/tasks/{id}: cancels a pending or running task, deletes a finished one."""
        with self.transport.guard():
            wire = self.transport.send("DELETE", _task_path(remote_id), headers={"Accept": "*/*"})
            parse_cancel(*wire.parts(), now=self.clock())


def _task_path(remote_id: str) -> str:
    return f"/v1/tasks/{quote(remote_id, safe='')}"
