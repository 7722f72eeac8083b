"""Build restyle's `RemoteJob` and `RemoteStatus` from what a provider's answer said."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from config.catalogue import ProviderSpec
from jobs.failures import FailureKind
from providers.base import RemoteJob, RemoteState, RemoteStatus
from providers.errors import ProviderError
from providers.http import SUBMIT_ERRORS, ErrorTable, read_answer


def remote_job(remote_id: str, spec: ProviderSpec, now: datetime) -> RemoteJob:
    """A submitted job (when to poll it is `jobs.timing.TimingPolicy`'s business)."""
    return RemoteJob(
        remote_id=remote_id,
        typical_duration_s=spec.typical_duration_s,
        submitted_at=now,
    )


class _Created(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)


def created_job(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    spec: ProviderSpec,
    now: datetime,
    overrides: ErrorTable | None = None,
) -> RemoteJob:
    """A submit answer ``{"id": ..., ...}`` -> `RemoteJob`; a refusal raises the taxonomy.

    ``overrides`` are the provider's status quirks, laid over `SUBMIT_ERRORS`.
    """
    errors = {**SUBMIT_ERRORS, **(overrides or {})}
    found = read_answer(spec.name.value, status, headers, body, now, _Created, errors)
    return remote_job(found.id, spec, now)


def expires_at(spec: ProviderSpec, now: datetime, completed_at: datetime | None = None) -> datetime:
    """When a finished job's output is gone, for providers whose clock starts at completion."""
    start = min(completed_at, now) if completed_at is not None else now
    return start + timedelta(seconds=spec.retention_s)


def succeeded(
    spec: ProviderSpec, urls: list[str] | tuple[str, ...], expiry: datetime, raw: dict[str, Any]
) -> RemoteStatus:
    """A SUCCEEDED status; a success without any output URL is a protocol error."""
    found = tuple(url for url in urls if url)
    if not found:
        raise ProviderError(spec.name.value, "the job succeeded but the answer has no output URL")
    return RemoteStatus(
        state=RemoteState.SUCCEEDED, progress=1.0, output_urls=found, expires_at=expiry, raw=raw
    )


def failed(kind: FailureKind, message: str | None, raw: dict[str, Any]) -> RemoteStatus:
    """A FAILED status carrying the provider's own words."""
    words = (message or "").strip() or "the provider reported a failure without a message"
    return RemoteStatus(state=RemoteState.FAILED, failure_kind=kind, message=words, raw=raw)
