"""Property tests: whatever a provider answers, parsing raises nothing but the taxonomy."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.catalogue import CATALOGUE
from config.settings import ProviderName
from providers import aimlapi, crun, runway, segmind, vibedream
from providers.base import RemoteJob, RemoteStatus
from providers.errors import ProviderFailure
from wire.answers import retry_after_s

NOW = datetime(2025, 1, 15, 12, 0, 0, tzinfo=UTC)

WORDS = [
    "PENDING", "THROTTLED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "QUEUED",
    "PROCESSING", "COMPLETED", "queued", "generating", "completed", "error", "waiting",
    "processing", "failed", "pending", "running", "success", "", "SAFETY.INPUT.TEXT",
    "INTERNAL", "https://o.example/x.mp4",
]  # fmt: skip
KEYS = [
    "id", "status", "output", "failure", "failureCode", "progress", "request_id", "error",
    "metrics", "inference_time", "video", "url", "name", "message", "outputs", "completedAt",
    "code", "data", "task_id", "result", "media_urls", "complete_at",
]  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(WORDS)
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=6)
    ),
    max_leaves=25,
)
bodies = (
    json_values.map(lambda value: json.dumps(value).encode())
    | st.binary(max_size=64)
    | st.sampled_from([b"", b"{", b"null", b"[]", b'{"status": "COMPLETED"}'])
)
printable = st.characters(min_codepoint=32, max_codepoint=126)
header_values = st.text(printable, max_size=40) | st.sampled_from(
    ["0", "-1", "1e309", "nan", "Wed, 15 Jan 2025 12:00:30 GMT", "Fri, 31 Dec 9999 23:59:59 GMT",
     "true", "false", "999999999999999999999"]
)  # fmt: skip
headers = st.dictionaries(
    st.sampled_from(["retry-after", "Retry-After", "retry-after-ms", "x-should-retry", "x-other"]),
    header_values,
    max_size=3,
)
statuses = st.integers(min_value=100, max_value=599) | st.sampled_from([200, 404, 422, 429, 455])

Parser = Callable[..., Any]
PARSERS: list[tuple[ProviderName, Parser]] = [
    (ProviderName.RUNWAY, runway.parse_submit),
    (ProviderName.RUNWAY, runway.parse_poll),
    (ProviderName.SEGMIND, segmind.parse_submit),
    (ProviderName.SEGMIND, segmind.parse_status),
    (ProviderName.SEGMIND, segmind.parse_result),
    (ProviderName.AIMLAPI, aimlapi.parse_submit),
    (ProviderName.AIMLAPI, aimlapi.parse_poll),
    (ProviderName.VIBEDREAM, vibedream.parse_submit),
    (ProviderName.VIBEDREAM, vibedream.parse_poll),
    (ProviderName.CRUN, crun.parse_submit),
    (ProviderName.CRUN, crun.parse_poll),
]
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize(
    ("provider", "parse"), PARSERS, ids=lambda value: getattr(value, "__qualname__", str(value))
)
@FAST
@given(status=statuses, headers=headers, body=bodies)
def test_parsers_raise_only_the_taxonomy(
    provider: ProviderName, parse: Parser, status: int, headers: dict[str, str], body: bytes
) -> None:
    try:
        found = parse(status, headers, body, spec=CATALOGUE[provider], now=NOW)
    except ProviderFailure as exc:
        assert exc.provider == provider.value
        return
    assert isinstance(found, RemoteJob | RemoteStatus)
    assert 200 <= status < 300 or (provider is ProviderName.SEGMIND and status == 422)


@FAST
@given(body=json_values)
def test_crun_callbacks_raise_only_the_taxonomy(body: Any) -> None:
    if not isinstance(body, dict):
        body = {"data": body}
    try:
        crun.parse_callback_body(body, spec=CATALOGUE[ProviderName.CRUN], now=NOW)
    except ProviderFailure as exc:
        assert exc.provider == "crun"


@FAST
@given(status=statuses, headers=headers)
def test_runway_cancel_raises_only_the_taxonomy(status: int, headers: dict[str, str]) -> None:
    try:
        runway.parse_cancel(status, headers, b"", now=NOW)
    except ProviderFailure:
        assert not 200 <= status < 300


@FAST
@given(headers=headers)
def test_retry_after_is_never_negative(headers: dict[str, str]) -> None:
    found = retry_after_s(headers, NOW)
    assert found is None or found >= 0
