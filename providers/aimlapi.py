"""aimlapi.com: POST /v2/video/generations, GET the same path with ``?generation_id=``.

Quirks: ``frame_size`` is a pixel ratio; reference images are ``{"type":"image","url":...}``
(``url``, not Runway's ``uri``); ``duration`` only takes 5; a 403 means out of credits. The
result comes in two shapes: legacy ``video: [url]`` with ``error: "..."``, universal
``video: {"url": ...}`` with ``error: {"name", "message"}``; both are read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from config.catalogue import ProviderSpec
from config.settings import ProviderName
from jobs.failures import FailureKind
from jobs.request import RUNWAY_PIXEL_RATIOS, EditRequest
from providers.adapter import ProviderAdapter, present
from providers.base import RemoteJob, RemoteState, RemoteStatus
from providers.errors import InsufficientCredits
from providers.http import read_answer
from providers.results import created_job, expires_at, failed, succeeded
from providers.validation import check_against_spec

log = logging.getLogger(__name__)

NAME = ProviderName.AIMLAPI
PATH = "/v2/video/generations"
ERRORS = {403: InsufficientCredits}

RUNNING_WORDS = {"queued": RemoteState.QUEUED, "generating": RemoteState.RUNNING}


class _VideoObject(BaseModel):
    model_config = ConfigDict(extra="ignore")

    url: str | None = None


class _ErrorObject(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str | None = None
    message: str | None = None


class _Generation(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    status: str
    video: list[str | None] | _VideoObject | None = None
    error: str | _ErrorObject | None = None

    def urls(self) -> list[str]:
        if isinstance(self.video, _VideoObject):
            return [self.video.url] if self.video.url else []
        return [url for url in self.video or [] if url]

    def error_text(self) -> str | None:
        if isinstance(self.error, _ErrorObject):
            parts = [self.error.name, self.error.message]
            return ": ".join(part for part in parts if part) or None
        return self.error


validate_request = check_against_spec
"""Refuse what aimlapi cannot take: the catalogue's checks (duration only 5)."""


def build_submit_body(request: EditRequest, spec: ProviderSpec) -> dict[str, Any]:
    """The JSON body of POST /v2/video/generations."""
    validate_request(request, spec)
    ratio, reference = request.aspect_ratio, request.reference_image_url
    optional = present(
        frame_size=RUNWAY_PIXEL_RATIOS[ratio] if ratio is not None else None,
        duration=request.duration_s,
        seed=request.seed,
        references=[{"type": "image", "url": reference}] if reference is not None else None,
    )
    return {
        "model": spec.model,
        "prompt": request.prompt,
        "video_url": request.video_url,
        **optional,
    }


def parse_submit(
    status: int, headers: Mapping[str, str], body: bytes, *, spec: ProviderSpec, now: datetime
) -> RemoteJob:
    """``{"id": ..., "status": "queued"}`` -> `RemoteJob`."""
    return created_job(status, headers, body, spec=spec, now=now, overrides=ERRORS)


def parse_poll(
    status: int, headers: Mapping[str, str], body: bytes, *, spec: ProviderSpec, now: datetime
) -> RemoteStatus:
    """A generation object (either shape) -> `RemoteStatus`."""
    found = read_answer(NAME.value, status, headers, body, now, _Generation, ERRORS)
    raw = found.model_dump(exclude_none=True)
    if found.status == "completed":
        return succeeded(spec, found.urls(), expires_at(spec, now), raw)
    if found.status == "error":
        return failed(FailureKind.GENERATION, found.error_text(), raw)
    return RemoteStatus(state=running_state(found.status), raw=raw)


def running_state(word: str) -> RemoteState:
    """The state of a non-terminal status word.

    providers.md (§2.3) says to treat every word other than ``completed``/``error`` as still
    running: aimlapi's own sample loop waits on ``waiting`` and ``active``, which no schema
    lists. This is the one adapter where an unknown word is not a protocol error; it is logged.
    """
    if word not in RUNNING_WORDS:
        log.warning("provider=%s unknown status word %r read as running", NAME.value, word[:40])
    return RUNNING_WORDS.get(word, RemoteState.RUNNING)


class AimlapiAdapter(ProviderAdapter):
    """aimlapi.com's universal video API."""

    name = NAME

    def submit(self, request: EditRequest, client_request_id: str) -> RemoteJob:
        """POST /v2/video/generations once; raises `InvalidRequest` before sending a bad one."""
        body = build_submit_body(request, self.spec)
        return self.post_edit(parse_submit, PATH, body, client_request_id)

    def poll(self, remote_id: str, *, submitted_at: datetime | None = None) -> RemoteStatus:
        """GET /v2/video/generations?generation_id=...; URLs expire ``retention_s`` from now."""
        return self.exchange(parse_poll, "GET", PATH, params={"generation_id": remote_id})
