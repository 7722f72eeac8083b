"""The shared status/header mapping: every code of the taxonomy, Retry-After both ways."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from providers.errors import (
    AuthenticationFailed,
    FeatureDisabled,
    GenerationFailed,
    InsufficientCredits,
    InvalidRequest,
    ProviderError,
    ProviderFailure,
    ProviderRefused,
    ProviderUnavailable,
    RateLimited,
    ResultExpired,
    RetryableFailure,
)
from providers.http import (
    SUBMIT_ERRORS,
    error_class,
    error_message,
    failure_for,
    raise_for_status,
    should_retry,
)
from wire.answers import retry_after_s

NOW = datetime(2025, 1, 15, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, InvalidRequest),
        (401, AuthenticationFailed),
        (402, InsufficientCredits),
        (403, AuthenticationFailed),
        (404, ResultExpired),
        (405, InvalidRequest),
        (408, ProviderUnavailable),
        (418, InvalidRequest),
        (422, InvalidRequest),
        (429, RateLimited),
        (455, ProviderUnavailable),
        (500, ProviderError),
        (501, GenerationFailed),
        (502, ProviderUnavailable),
        (503, ProviderUnavailable),
        (504, ProviderUnavailable),
        (505, FeatureDisabled),
        (599, ProviderError),
        (302, ProviderError),
    ],
)
def test_status_codes_map_to_the_taxonomy(status: int, expected: type[ProviderFailure]) -> None:
    assert error_class(status) is expected


def test_a_404_on_submit_is_a_bad_request_not_an_expiry() -> None:
    assert error_class(404, SUBMIT_ERRORS) is InvalidRequest


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"Retry-After": "-3"}, 0.0),
        ({"Retry-After": "Wed, 15 Jan 2025 12:00:30 GMT"}, 30.0),
        ({"Retry-After": "Wed, 15 Jan 2025 11:59:00 GMT"}, 0.0),
        ({"retry-after-ms": "250", "Retry-After": "9"}, 0.25),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": "inf"}, None),
        ({}, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_as_an_http_date(
    headers: dict[str, str], expected: float | None
) -> None:
    assert retry_after_s(headers, NOW) == expected


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("FALSE", False), ("maybe", None)])
def test_x_should_retry_is_read_case_insensitively(value: str, expected: bool | None) -> None:
    assert should_retry({"X-Should-Retry": value}) is expected


def test_a_rate_limit_carries_the_retry_after_hint() -> None:
    error = failure_for("runway", 429, {"Retry-After": "12"}, "slow down", NOW)
    assert isinstance(error, RateLimited)
    assert error.retry_after == 12.0
    assert (error.provider, error.status_code, error.message) == ("runway", 429, "slow down")


def test_x_should_retry_false_makes_a_transient_status_final() -> None:
    error = failure_for("runway", 503, {"x-should-retry": "false"}, "no", NOW)
    assert isinstance(error, ProviderRefused)
    assert not isinstance(error, RetryableFailure)


def test_x_should_retry_true_makes_a_final_status_retryable() -> None:
    error = failure_for("runway", 409, {"x-should-retry": "true", "Retry-After": "2"}, "x", NOW)
    assert isinstance(error, RetryableFailure)
    assert error.retry_after == 2.0
    refused = failure_for("runway", 400, {"x-should-retry": "true"}, "x", NOW)
    assert isinstance(refused, ProviderError)
    assert refused.status_code == 400


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"error":"Invalid API key"}', "Invalid API key"),
        (b'{"message":"Too Many Requests","statusCode":"429"}', "Too Many Requests"),
        (b'{"code":455,"message":"maintenance"}', "maintenance"),
        (b'{"error":{"name":"ValidationError","message":"bad frame"}}', "bad frame"),
        (b"upstream exploded", "upstream exploded"),
        (b"", "HTTP 502"),
        (b'{"unrelated":1}', '{"unrelated":1}'),
    ],
)
def test_the_providers_own_message_is_kept(body: bytes, expected: str) -> None:
    assert error_message(body, 502) == expected


def test_long_messages_are_clipped() -> None:
    assert len(error_message(b"x" * 5000)) == 300


def test_success_statuses_raise_nothing() -> None:
    raise_for_status("crun", 204, {}, b"", NOW)


def test_an_error_status_raises_with_the_provider_name_and_words() -> None:
    with pytest.raises(InsufficientCredits) as caught:
        raise_for_status("crun", 402, {}, b'{"code":402,"message":"no credits"}', NOW)
    assert str(caught.value) == "crun (HTTP 402): no credits"
