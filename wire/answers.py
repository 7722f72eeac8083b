"""The meaning of an HTTP answer that every client shares: safe URLs, temporary statuses and
Retry-After. Pure functions; each client maps them onto its own error tree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx

TEMPORARY_STATUSES = frozenset({408, 425, 429})
"""Client-error codes that say "not now" rather than "never" (with every 5xx)."""

Headers = Mapping[str, str] | httpx.Headers


def redact_url(url: str) -> str:
    """``url`` without userinfo, query or fragment: safe to log and to put in messages
    (presigned URLs keep their signatures and tokens in the query)."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"


def is_temporary_status(status: int) -> bool:
    """True for an error status worth trying again: 5xx, 408, 425 and 429."""
    return status >= 500 or status in TEMPORARY_STATUSES


def retry_after_s(headers: Headers, now: datetime) -> float | None:
    """Seconds to wait from ``retry-after-ms``, or ``Retry-After`` as seconds or an HTTP date."""
    found = httpx.Headers(headers)
    millis = _finite(found.get("retry-after-ms"))
    if millis is not None:
        return max(millis / 1000.0, 0.0)
    value = found.get("retry-after")
    if value is None:
        return None
    seconds = _finite(value)
    if seconds is not None:
        return max(seconds, 0.0)
    return _seconds_until(value, now)


def _finite(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _seconds_until(http_date: str, now: datetime) -> float | None:
    try:
        when = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)
