"""Each provider's response parsers, against the exact JSON examples in providers.md and seeds."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from config.catalogue import CATALOGUE, ProviderSpec
from config.settings import ProviderName
from jobs.failures import FailureKind
from providers import aimlapi, crun, runway, segmind, vibedream
from providers.base import RemoteJob, RemoteState, RemoteStatus
from providers.errors import (
    FeatureDisabled,
    InsufficientCredits,
    InvalidRequest,
    ProviderError,
    ProviderFailure,
    ProviderUnavailable,
    RateLimited,
    ResultExpired,
)

NOW = datetime(2025, 1, 15, 12, 1, 0, tzinfo=UTC)
Parser = Callable[..., Any]


def spec(name: ProviderName) -> ProviderSpec:
    return CATALOGUE[name]


def raw(payload: Any) -> bytes:
    return json.dumps(payload).encode()


SUBMITS: list[tuple[Parser, ProviderName, Any, str]] = [
    (runway.parse_submit, ProviderName.RUNWAY, {"id": "11111111-2222-3333-4444-555555555555"},
     "11111111-2222-3333-4444-555555555555"),
    (segmind.parse_submit, ProviderName.SEGMIND, {
        "request_id": "2c7f59ea-13f1-402c-9353-915a2b5a2124", "status": "QUEUED",
        "poll_url": "https://api.segmind.com/v1/requests/2c7f59ea-...",
        "status_url": "https://api.segmind.com/v2/requests/2c7f59ea-.../status",
        "response_url": "https://api.segmind.com/v2/requests/2c7f59ea-..."},
     "2c7f59ea-13f1-402c-9353-915a2b5a2124"),
    (aimlapi.parse_submit, ProviderName.AIMLAPI,
     {"id": "6d6c768f-702e-4737-a3c9-0c6c6f4fec0a", "status": "queued"},
     "6d6c768f-702e-4737-a3c9-0c6c6f4fec0a"),
    (vibedream.parse_submit, ProviderName.VIBEDREAM, {
        "id": "550e8400-e29b-41d4-a716-446655440000", "status": "processing",
        "statusUrl": "https://api.vibedream.ai/api/v1/predictions/550e8400-e29b-41d4-a716-446655440000",
        "estimatedTime": "5-15s", "costCents": 100, "createdAt": "2025-01-15T12:00:00.000Z"},
     "550e8400-e29b-41d4-a716-446655440000"),
    (crun.parse_submit, ProviderName.CRUN,
     {"code": 200, "message": "success", "data": {"task_id": "task_12345678"}}, "task_12345678"),
]  # fmt: skip


@pytest.mark.parametrize(("parse", "provider", "body", "remote_id"), SUBMITS)
def test_submit_answers_give_the_remote_id_and_timing_hints(
    parse: Parser, provider: ProviderName, body: Any, remote_id: str
) -> None:
    job = parse(200, {}, raw(body), spec=spec(provider), now=NOW)
    assert job == RemoteJob(
        remote_id=remote_id,
        typical_duration_s=spec(provider).typical_duration_s,
        submitted_at=NOW,
    )


RUNWAY_ID = "11111111-2222-3333-4444-555555555555"
RETAIN_DAY = NOW + timedelta(hours=24)


def status(state: RemoteState, **fields: Any) -> RemoteStatus:
    return RemoteStatus(state=state, **fields)


POLLS: list[tuple[Parser, ProviderName, int, Any, RemoteStatus]] = [
    (runway.parse_poll, ProviderName.RUNWAY, 200,
     {"id": RUNWAY_ID, "status": "PENDING", "createdAt": "2025-08-01T00:00:00.000Z",
      "estimatedCost": {"credits": 75}},
     status(RemoteState.QUEUED)),
    (runway.parse_poll, ProviderName.RUNWAY, 200,
     {"id": RUNWAY_ID, "status": "THROTTLED", "createdAt": "2025-08-01T00:00:00.000Z"},
     status(RemoteState.QUEUED)),
    (runway.parse_poll, ProviderName.RUNWAY, 200,
     {"id": RUNWAY_ID, "status": "RUNNING", "createdAt": "2025-08-01T00:00:00.000Z",
      "progress": 0.42, "estimatedCost": {"credits": 75}},
     status(RemoteState.RUNNING, progress=0.42)),
    (runway.parse_poll, ProviderName.RUNWAY, 200,
     {"id": RUNWAY_ID, "status": "SUCCEEDED", "createdAt": "2025-08-01T00:00:00.000Z",
      "output": ["https://signed.example/out.mp4"], "cost": {"credits": 75}},
     status(RemoteState.SUCCEEDED, progress=1.0, output_urls=("https://signed.example/out.mp4",),
            expires_at=RETAIN_DAY, billed_cost_usd=0.75)),
    (runway.parse_poll, ProviderName.RUNWAY, 200,
     {"id": RUNWAY_ID, "status": "FAILED", "createdAt": "2025-08-01T00:00:00.000Z",
      "failure": "Your prompt was flagged…", "failureCode": "SAFETY.INPUT.TEXT",
      "cost": {"credits": 0}},
     status(RemoteState.FAILED, failure_kind=FailureKind.MODERATION,
            message="Your prompt was flagged…", billed_cost_usd=0.0)),
    (runway.parse_poll, ProviderName.RUNWAY, 200,
     {"id": RUNWAY_ID, "status": "FAILED", "failure": "bad output",
      "failureCode": "INTERNAL.BAD_OUTPUT.CODE01"},
     status(RemoteState.FAILED, failure_kind=FailureKind.PROVIDER, message="bad output")),
    (runway.parse_poll, ProviderName.RUNWAY, 200,
     {"id": RUNWAY_ID, "status": "FAILED", "failureCode": "ASSET.INVALID"},
     status(RemoteState.FAILED, failure_kind=FailureKind.VALIDATION, message="ASSET.INVALID")),
    (runway.parse_poll, ProviderName.RUNWAY, 200,
     {"id": RUNWAY_ID, "status": "FAILED", "failure": "?", "failureCode": "SOMETHING.NEW"},
     status(RemoteState.FAILED, failure_kind=FailureKind.GENERATION, message="?")),
    (runway.parse_poll, ProviderName.RUNWAY, 200, {"id": RUNWAY_ID, "status": "CANCELLED"},
     status(RemoteState.CANCELLED)),
    (vibedream.parse_poll, ProviderName.VIBEDREAM, 200,
     {"id": "550e8400-e29b-41d4-a716-446655440000", "modelId": "gen4-aleph",
      "modelName": "RunwayML Gen4 Aleph", "status": "processing", "outputs": None, "error": None,
      "createdAt": "2025-01-15T12:00:00.000Z", "completedAt": None},
     status(RemoteState.RUNNING)),
    (vibedream.parse_poll, ProviderName.VIBEDREAM, 200,
     {"id": "550e8400-e29b-41d4-a716-446655440000", "modelId": "gen4-aleph",
      "modelName": "RunwayML Gen4 Aleph", "status": "completed",
      "outputs": ["https://assets.vibedream.ai/outputs/550e8400-e29b-41d4-a716-446655440000/1736942400000-0.mp4"],
      "error": None, "createdAt": "2025-01-15T12:00:00.000Z",
      "completedAt": "2025-01-15T12:00:30.000Z"},
     status(RemoteState.SUCCEEDED, progress=1.0,
            output_urls=("https://assets.vibedream.ai/outputs/550e8400-e29b-41d4-a716-446655440000/1736942400000-0.mp4",),
            expires_at=datetime(2025, 1, 15, 13, 0, 30, tzinfo=UTC))),
    (vibedream.parse_poll, ProviderName.VIBEDREAM, 200,
     {"id": "550e8400-e29b-41d4-a716-446655440000", "modelId": "gen4-aleph",
      "modelName": "RunwayML Gen4 Aleph", "status": "failed", "outputs": None,
      "error": "Your request was flagged by content moderation. Please modify your prompt.",
      "createdAt": "2025-01-15T12:00:00.000Z", "completedAt": "2025-01-15T12:00:05.000Z"},
     status(RemoteState.FAILED, failure_kind=FailureKind.GENERATION,
            message="Your request was flagged by content moderation. Please modify your prompt.")),
    (aimlapi.parse_poll, ProviderName.AIMLAPI, 200,
     {"id": "6d6c768f-702e-4737-a3c9-0c6c6f4fec0a", "status": "generating"},
     status(RemoteState.RUNNING)),
    (aimlapi.parse_poll, ProviderName.AIMLAPI, 200,
     {"id": "6d6c768f-702e-4737-a3c9-0c6c6f4fec0a", "status": "queued"},
     status(RemoteState.QUEUED)),
    (aimlapi.parse_poll, ProviderName.AIMLAPI, 200,
     {"id": "6d6c768f-702e-4737-a3c9-0c6c6f4fec0a", "status": "waiting"},
     status(RemoteState.RUNNING)),
    (aimlapi.parse_poll, ProviderName.AIMLAPI, 200,
     {"id": "6d6c768f-702e-4737-a3c9-0c6c6f4fec0a", "status": "completed",
      "video": ["https://cdn.aimlapi.com/wolf/cbd4bc0a-e4dd-45be-abb4-fa95b014dc46.mp4?_jwt=eyJ..."]},
     status(RemoteState.SUCCEEDED, progress=1.0,
            output_urls=("https://cdn.aimlapi.com/wolf/cbd4bc0a-e4dd-45be-abb4-fa95b014dc46.mp4?_jwt=eyJ...",),
            expires_at=RETAIN_DAY)),
    (aimlapi.parse_poll, ProviderName.AIMLAPI, 200,
     {"id": "60ac7c34-3224-4b14-8e7d-0aa0db708325", "status": "completed",
      "video": {"url": "https://cdn.aimlapi.com/generations/hedgehog/1759866285599-....mp4"},
      "error": None, "meta": {"usage": {"credits_used": 120000}}},
     status(RemoteState.SUCCEEDED, progress=1.0,
            output_urls=("https://cdn.aimlapi.com/generations/hedgehog/1759866285599-....mp4",),
            expires_at=RETAIN_DAY)),
    (aimlapi.parse_poll, ProviderName.AIMLAPI, 200,
     {"id": "x", "status": "error", "error": {"name": "GenerationError", "message": "no luck"},
      "video": None},
     status(RemoteState.FAILED, failure_kind=FailureKind.GENERATION,
            message="GenerationError: no luck")),
    (aimlapi.parse_poll, ProviderName.AIMLAPI, 200,
     {"id": "x", "status": "error", "error": "legacy words", "video": [None]},
     status(RemoteState.FAILED, failure_kind=FailureKind.GENERATION, message="legacy words")),
    (segmind.parse_status, ProviderName.SEGMIND, 200,
     {"status": "QUEUED", "request_id": "2c7f59ea-...",
      "status_url": "https://api.segmind.com/v2/requests/2c7f59ea-.../status",
      "response_url": "https://api.segmind.com/v2/requests/2c7f59ea-...", "metrics": {}},
     status(RemoteState.QUEUED)),
    (segmind.parse_status, ProviderName.SEGMIND, 200,
     {"status": "PROCESSING", "request_id": "2c7f59ea-..."},
     status(RemoteState.RUNNING)),
    (segmind.parse_status, ProviderName.SEGMIND, 200,
     {"status": "COMPLETED", "request_id": "2c7f59ea-...", "metrics": {"inference_time": 13.06}},
     status(RemoteState.SUCCEEDED)),
    (segmind.parse_status, ProviderName.SEGMIND, 422,
     {"status": "FAILED",
      "error": "Validation error in MockInferenceProcessor: sleep must be …",
      "metrics": {"inference_time": 0.008},
      "request_id": "11111111-2222-3333-4444-555555555555"},
     status(RemoteState.FAILED, failure_kind=FailureKind.GENERATION,
            message="Validation error in MockInferenceProcessor: sleep must be …")),
    (crun.parse_poll, ProviderName.CRUN, 200,
     {"code": 200, "message": "success", "data": {
         "task_id": "d6956973-2f17-43d4-8514-af6cc3a2f55d", "provider": "Google",
         "model_version": "nano-banana", "status": "running",
         "param": {"model": "google/nano-banana", "callback_url": None,
                   "input": {"prompt": "...", "output_format": "png", "aspect_ratio": "16:9"}},
         "create_at": 1768900378, "result": None, "duration_s": None, "complete_at": None,
         "source": "api"}},
     status(RemoteState.RUNNING)),
    (crun.parse_poll, ProviderName.CRUN, 200,
     {"code": 200, "message": "success", "data": {"task_id": "t", "status": "pending"}},
     status(RemoteState.QUEUED)),
    (crun.parse_poll, ProviderName.CRUN, 200,
     {"code": 200, "message": "success", "data": {
         "task_id": "task_1234567", "provider": "runway", "model_version": "gen-4-aleph",
         "status": "success",
         "param": {"model": "runway/gen-4-aleph", "callback_url": None,
                   "input": {"prompt": "...", "video_url": "..."}},
         "create_at": 1715750400, "complete_at": 1715750600, "duration_s": 200,
         "source": "api", "credits": 6,
         "result": {"code": 200, "message": "success", "media_urls": ["https://.../out.mp4"]}}},
     status(RemoteState.SUCCEEDED, progress=1.0, output_urls=("https://.../out.mp4",),
            expires_at=datetime.fromtimestamp(1715750600 + 3600, UTC))),
    (crun.parse_poll, ProviderName.CRUN, 200,
     {"code": 200, "message": "success", "data": {
         "task_id": "t", "status": "failed", "result": {"code": 501, "message": "it broke"}}},
     status(RemoteState.FAILED, failure_kind=FailureKind.GENERATION, message="it broke")),
    (crun.parse_poll, ProviderName.CRUN, 200,
     {"code": 200, "message": "success", "data": {
         "task_id": "t", "status": "failed", "result": {"code": 500, "message": "oops"}}},
     status(RemoteState.FAILED, failure_kind=FailureKind.PROVIDER, message="oops")),
    (crun.parse_poll, ProviderName.CRUN, 200,
     {"code": 200, "message": "success", "data": {
         "task_id": "t", "status": "failed", "result": {"code": 505, "message": "off"}}},
     status(RemoteState.FAILED, failure_kind=FailureKind.FEATURE_DISABLED, message="off")),
]  # fmt: skip


@pytest.mark.parametrize(("parse", "provider", "code", "body", "expected"), POLLS)
def test_poll_answers_map_to_restyle_states(
    parse: Parser, provider: ProviderName, code: int, body: Any, expected: RemoteStatus
) -> None:
    assert parse(code, {}, raw(body), spec=spec(provider), now=NOW) == expected


def test_segmind_result_gives_the_output_and_expiry_one_hour_after_submission() -> None:
    body = {"status": "COMPLETED", "error": None, "metrics": {"inference_time": 169.3},
            "output": "https://cdn.segmind.example/output.mp4"}  # fmt: skip
    submitted = NOW - timedelta(minutes=10)
    found = segmind.parse_result(
        200, {}, raw(body), spec=spec(ProviderName.SEGMIND), now=NOW, submitted_at=submitted
    )
    assert found.state is RemoteState.SUCCEEDED
    assert found.output_urls == ("https://cdn.segmind.example/output.mp4",)
    assert found.expires_at == submitted + timedelta(hours=1)


def test_segmind_without_submission_time_assumes_the_job_is_at_least_typical_age() -> None:
    body = {"status": "COMPLETED", "metrics": {"inference_time": 13.0}, "output": "https://o"}
    found = segmind.parse_result(200, {}, raw(body), spec=spec(ProviderName.SEGMIND), now=NOW)
    typical = spec(ProviderName.SEGMIND).typical_duration_s
    assert found.expires_at == NOW + timedelta(seconds=3600 - typical)


def test_segmind_result_without_output_is_a_protocol_error() -> None:
    body = {"status": "COMPLETED", "output": None}
    with pytest.raises(ProviderError, match="no output URL"):
        segmind.parse_result(200, {}, raw(body), spec=spec(ProviderName.SEGMIND), now=NOW)


def test_crun_callback_carries_the_bare_data_object() -> None:
    result = {"code": 200, "message": "success", "media_urls": ["https://o.mp4"]}
    data = {"task_id": "task_1", "status": "success", "complete_at": 1715750600, "result": result}
    remote_id, found = crun.parse_callback_body(data, spec=spec(ProviderName.CRUN), now=NOW)
    assert remote_id == "task_1"
    assert found.output_urls == ("https://o.mp4",)


ERRORS: list[tuple[Parser, ProviderName, int, dict[str, str], Any, type[ProviderFailure]]] = [
    (runway.parse_submit, ProviderName.RUNWAY, 400, {}, {"error": "promptText: too long"},
     InvalidRequest),
    (runway.parse_poll, ProviderName.RUNWAY, 404, {}, {"error": "Not found"}, ResultExpired),
    (runway.parse_submit, ProviderName.RUNWAY, 429, {"retry-after-ms": "1500"},
     {"error": "daily limit"}, RateLimited),
    (segmind.parse_submit, ProviderName.SEGMIND, 406, {}, {"error": "Insufficient credits"},
     InsufficientCredits),
    (segmind.parse_status, ProviderName.SEGMIND, 404, {}, {"error": "not found"}, ResultExpired),
    (segmind.parse_submit, ProviderName.SEGMIND, 422, {}, {"error": "video: bad"},
     InvalidRequest),
    (aimlapi.parse_submit, ProviderName.AIMLAPI, 403, {},
     {"message": "You've run out of credits", "path": "/v2/video/generations",
      "requestId": "798b860e", "statusCode": "403", "timestamp": "2025-03-11T07:13:27.813Z"},
     InsufficientCredits),
    (aimlapi.parse_submit, ProviderName.AIMLAPI, 400, {},
     {"message": "Body validation error!", "statusCode": 400}, InvalidRequest),
    (aimlapi.parse_poll, ProviderName.AIMLAPI, 504, {}, {"message": "Generation timeout"},
     ProviderUnavailable),
    (crun.parse_submit, ProviderName.CRUN, 455, {"Retry-After": "60"},
     {"code": 455, "message": "maintenance"}, ProviderUnavailable),
    (crun.parse_submit, ProviderName.CRUN, 200, {}, {"code": 402, "message": "no credits"},
     InsufficientCredits),
    (crun.parse_submit, ProviderName.CRUN, 505, {}, {"code": 505, "message": "disabled"},
     FeatureDisabled),
    (crun.parse_poll, ProviderName.CRUN, 200, {}, {"code": 200, "message": "success"},
     ProviderError),
    (vibedream.parse_poll, ProviderName.VIBEDREAM, 200, {}, {"status": "sleeping"},
     ProviderError),
    (runway.parse_poll, ProviderName.RUNWAY, 200, {}, {"id": "x", "status": "DREAMING"},
     ProviderError),
    (runway.parse_poll, ProviderName.RUNWAY, 200, {}, {"id": "x", "status": "SUCCEEDED"},
     ProviderError),
    (crun.parse_poll, ProviderName.CRUN, 200, {},
     {"code": 200, "data": {"task_id": "t", "status": "queuing"}}, ProviderError),
]  # fmt: skip


@pytest.mark.parametrize(("parse", "provider", "code", "headers", "body", "expected"), ERRORS)
def test_error_answers_raise_the_taxonomy_with_the_provider_name(
    parse: Parser,
    provider: ProviderName,
    code: int,
    headers: dict[str, str],
    body: Any,
    expected: type[ProviderFailure],
) -> None:
    with pytest.raises(expected) as caught:
        parse(code, headers, raw(body), spec=spec(provider), now=NOW)
    assert caught.value.provider == provider.value
    assert caught.value.message


def test_retry_hints_survive_parsing() -> None:
    with pytest.raises(RateLimited) as caught:
        runway.parse_submit(429, {"retry-after-ms": "1500"}, b"{}", spec=spec(ProviderName.RUNWAY),
                            now=NOW)  # fmt: skip
    assert caught.value.retry_after == 1.5


def test_an_unknown_status_word_names_it() -> None:
    with pytest.raises(ProviderError, match="DREAMING"):
        runway.parse_poll(200, {}, raw({"id": "x", "status": "DREAMING"}),
                          spec=spec(ProviderName.RUNWAY), now=NOW)  # fmt: skip


def test_runway_cancel_of_a_task_already_gone_is_fine() -> None:
    runway.parse_cancel(404, {}, b'{"error":"Not found"}', now=NOW)
    runway.parse_cancel(204, {}, b"", now=NOW)
    with pytest.raises(ProviderUnavailable):
        runway.parse_cancel(503, {}, b"", now=NOW)
