"""Map a provider's HTTP answer to the error taxonomy: status codes, Retry-After, x-should-retry.

Pure functions over ``(status, headers, body)``; classification uses status codes, headers and
structured body fields only, never the wording of a message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from providers.errors import (
    AuthenticationFailed,
    FeatureDisabled,
    GenerationFailed,
    InsufficientCredits,
    InvalidRequest,
    Maintenance,
    ProviderError,
    ProviderFailure,
    ProviderRefused,
    ProviderUnavailable,
    RateLimited,
    ResultExpired,
    RetryableFailure,
    RetryRefused,
    ServiceDown,
)
from wire.answers import retry_after_s

Headers = Mapping[str, str] | httpx.Headers
ErrorTable = Mapping[int, type[ProviderFailure]]
Model = TypeVar("Model", bound=BaseModel)

MAX_MESSAGE_CHARS = 300

STATUS_ERRORS: dict[int, type[ProviderFailure]] = {
    400: InvalidRequest,
    401: AuthenticationFailed,
    402: InsufficientCredits,
    403: AuthenticationFailed,
    404: ResultExpired,
    408: ProviderUnavailable,
    409: ProviderError,
    413: InvalidRequest,
    422: InvalidRequest,
    429: RateLimited,
    455: ProviderUnavailable,
    500: ProviderError,
    501: GenerationFailed,
    502: ProviderUnavailable,
    503: ProviderUnavailable,
    504: ProviderUnavailable,
    505: FeatureDisabled,
}
"""The status codes every provider shares; adapters pass overrides for their quirks."""

SUBMIT_ERRORS: dict[int, type[ProviderFailure]] = {404: InvalidRequest}
"""On a submit there is no result to expire: a 404 means a wrong endpoint or model."""


def error_class(status: int, overrides: ErrorTable | None = None) -> type[ProviderFailure]:
    """The taxonomy class of an HTTP ``status`` (overrides first, then the shared table)."""
    found = (overrides or {}).get(status) or STATUS_ERRORS.get(status)
    if found is not None:
        return found
    if 400 <= status < 500:
        return InvalidRequest
    return ProviderError


def should_retry(headers: Headers) -> bool | None:
    """Runway's ``x-should-retry`` verdict: True, False, or None when absent or unreadable."""
    value = httpx.Headers(headers).get("x-should-retry", "").strip().lower()
    return {"true": True, "false": False}.get(value)


def error_message(body: bytes, status: int | None = None) -> str:
    """The provider's own words from an error body (``error``, ``message``, ``detail``...)."""
    payload = load_json(body)
    found = _message_in(payload) if isinstance(payload, dict) else None
    if found is None:
        found = body.decode("utf-8", errors="replace").strip()
    if not found:
        found = f"HTTP {status}" if status is not None else "no message"
    return _clip(found)


def _message_in(payload: dict[str, Any]) -> str | None:
    for key in ("error", "message", "failure", "detail", "msg"):
        value = payload.get(key)
        if isinstance(value, dict):
            value = value.get("message") or value.get("name")
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _clip(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= MAX_MESSAGE_CHARS:
        return text
    return text[: MAX_MESSAGE_CHARS - 3] + "..."


def load_json(body: bytes) -> Any:
    """``body`` parsed as JSON, or None when it is not JSON."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def failure_for(
    provider: str,
    status: int,
    headers: Headers,
    message: str,
    now: datetime,
    overrides: ErrorTable | None = None,
) -> ProviderFailure:
    """The taxonomy error for a non-success answer, honouring ``x-should-retry``."""
    cls = error_class(status, overrides)
    verdict = should_retry(headers)
    if verdict is True and not issubclass(cls, RetryableFailure):
        cls = RetryRefused if status < 500 else ProviderError
    elif verdict is False and issubclass(cls, RetryableFailure):
        cls = ProviderRefused
    if issubclass(cls, RetryableFailure):
        retry_after = retry_after_s(headers, now)
        return refined(cls, status, retry_after)(provider, message, status, retry_after=retry_after)
    return cls(provider, message, status)


REFUSED_UNAVAILABLE = frozenset({408, 502, 503, 504})
"""Answers of a provider that cannot serve now: the request made no remote job."""
MAINTENANCE = 455


def refined(
    cls: type[RetryableFailure], status: int, retry_after: float | None
) -> type[RetryableFailure]:
    """The class that says what an unavailability answer means for the job and the key, so no
    later step reads the status: a maintenance window, or a provider down (`ServiceDown`)."""
    if cls is not ProviderUnavailable:
        return cls
    if status == MAINTENANCE or (status == 503 and retry_after is not None):
        return Maintenance
    return ServiceDown if status in REFUSED_UNAVAILABLE else cls


def raise_for_status(
    provider: str,
    status: int,
    headers: Headers,
    body: bytes,
    now: datetime,
    overrides: ErrorTable | None = None,
) -> None:
    """Return on 2xx; otherwise raise the taxonomy error carrying the provider's message."""
    if 200 <= status < 300:
        return
    message = error_message(body, status)
    raise failure_for(provider, status, headers, message, now, overrides)


def read_answer(
    provider: str,
    status: int,
    headers: Headers,
    body: bytes,
    now: datetime,
    model: type[Model],
    overrides: ErrorTable | None = None,
) -> Model:
    """A 2xx answer parsed into ``model``; otherwise the taxonomy error (see `raise_for_status`)."""
    raise_for_status(provider, status, headers, body, now, overrides)
    return decode(provider, body, model)


def decode(provider: str, body: bytes | dict[str, Any], model: type[Model]) -> Model:
    """Parse ``body`` into ``model``; anything unreadable is a `ProviderError`."""
    try:
        if isinstance(body, dict):
            return model.model_validate(body)
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise ProviderError(provider, f"unexpected answer: {_describe(exc)}") from exc


def _describe(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    got = first.get("input")
    shown = f" (got {str(got)[:60]!r})" if isinstance(got, str | int | float) else ""
    return _clip(f"{where}: {first['msg']}{shown}")
