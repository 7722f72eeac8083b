"""Segmind's wire protocol over plain httpx: absolute URLs, 422-on-FAILED, 404 after retention."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from media.samples import describe_clip
from tests.emulator.support import configure, eventually, keys

SUBMIT = "/segmind/v2/runway-gen4-aleph"


def auth(index: int = 0) -> dict[str, str]:
    return {"x-api-key": keys("segmind", index)}


def payload(clip_uri: str, **extra: Any) -> dict[str, Any]:
    return {
        "seed": 42,
        "video": clip_uri,
        "prompt": "make it winter",
        "aspect_ratio": "9:16",
        **extra,
    }


def submit(emulator: httpx.Client, clip_uri: str, **extra: Any) -> dict[str, Any]:
    response = emulator.post(SUBMIT, json=payload(clip_uri, **extra), headers=auth())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_submit_returns_queued_with_absolute_urls_back_to_the_emulator(
    emulator: httpx.Client, clip_uri: str, base: str
) -> None:
    body = submit(emulator, clip_uri)
    request_id = body["request_id"]
    assert body == {
        "request_id": request_id,
        "status": "QUEUED",
        "poll_url": f"{base}/segmind/v1/requests/{request_id}",
        "status_url": f"{base}/segmind/v2/requests/{request_id}/status",
        "response_url": f"{base}/segmind/v2/requests/{request_id}",
    }


def test_status_then_result_follow_the_documented_shapes(
    emulator: httpx.Client, clip_uri: str, base: str
) -> None:
    body = submit(emulator, clip_uri)
    running = emulator.get(body["status_url"], headers=auth()).json()
    assert running["status"] in ("QUEUED", "PROCESSING")
    assert set(running) == {"status", "request_id", "status_url", "response_url", "metrics"}
    done = eventually(
        lambda: (
            (s := emulator.get(body["status_url"], headers=auth()).json())["status"] == "COMPLETED"
            and s
        )
    )
    assert set(done) == {"status", "request_id", "metrics"}
    assert done["metrics"]["inference_time"] >= 0
    result = emulator.get(body["response_url"], headers=auth()).json()
    assert result["status"] == "COMPLETED"
    assert result["error"] is None
    assert result["output"].startswith(f"{base}/segmind/_files/")
    assert "inference_time" in result["metrics"]
    assert emulator.get(body["poll_url"], headers=auth()).json()["output"] == result["output"]


def test_a_failed_request_is_served_as_422_on_both_endpoints(
    emulator: httpx.Client, clip_uri: str
) -> None:
    body = submit(emulator, clip_uri, prompt="forbidden content")
    status = eventually(
        lambda: (r := emulator.get(body["status_url"], headers=auth())).status_code == 422 and r
    )
    failed = status.json()
    assert failed["status"] == "FAILED"
    assert failed["request_id"] == body["request_id"]
    assert failed["error"] and "inference_time" in failed["metrics"]
    result = emulator.get(body["response_url"], headers=auth())
    assert result.status_code == 422
    assert result.json()["status"] == "FAILED"


def test_unknown_ids_are_404(emulator: httpx.Client) -> None:
    response = emulator.get("/segmind/v2/requests/nope/status", headers=auth())
    assert response.status_code == 404
    assert set(response.json()) == {"error"}


def test_requests_and_outputs_expire_after_the_retention(
    emulator: httpx.Client, clip_uri: str
) -> None:
    configure(emulator, {"providers": {"segmind": {"retention_s": 1.5, "record_ttl_s": 1.5}}})
    body = submit(emulator, clip_uri)
    eventually(
        lambda: emulator.get(body["status_url"], headers=auth()).json()["status"] == "COMPLETED"
    )
    output = emulator.get(body["response_url"], headers=auth()).json()["output"]
    assert emulator.get(output).status_code == 200
    eventually(lambda: emulator.get(body["status_url"], headers=auth()).status_code == 404)
    assert emulator.get(body["response_url"], headers=auth()).status_code == 404
    assert emulator.get(output).status_code == 404


@pytest.mark.parametrize(
    "sent", [{}, {"x-api-key": ""}, {"Authorization": f"Bearer {keys('segmind')}"}]
)
def test_requests_without_an_x_api_key_get_401(
    emulator: httpx.Client, clip_uri: str, sent: dict[str, str]
) -> None:
    response = emulator.post(SUBMIT, json=payload(clip_uri), headers=sent)
    assert response.status_code == 401
    assert set(response.json()) == {"error"}


@pytest.mark.parametrize(
    "change",
    [
        {"prompt": "p" * 1001},
        {"aspect_ratio": "5:4"},
        {"video": None},
        {"prompt": None},
        {"seed": "x"},
    ],
)
def test_invalid_bodies_get_400(
    emulator: httpx.Client, clip_uri: str, change: dict[str, Any]
) -> None:
    sent = {k: v for k, v in payload(clip_uri, **change).items() if v is not None}
    response = emulator.post(SUBMIT, json=sent, headers=auth())
    assert response.status_code == 400
    assert isinstance(response.json()["error"], str)


def test_an_unknown_model_slug_is_404(emulator: httpx.Client, clip_uri: str) -> None:
    response = emulator.post("/segmind/v2/flux-schnell", json=payload(clip_uri), headers=auth())
    assert response.status_code == 404


def test_a_key_without_credits_gets_406(emulator: httpx.Client, clip_uri: str) -> None:
    emulator.post("/_emulator/keys", json={"key": keys("segmind"), "credits": 0}).raise_for_status()
    response = emulator.post(SUBMIT, json=payload(clip_uri), headers=auth())
    assert response.status_code == 406
    assert set(response.json()) == {"error"}


def test_the_sync_v1_endpoint_answers_with_the_video_itself(
    emulator: httpx.Client, clip_uri: str
) -> None:
    response = emulator.post(
        "/segmind/v1/runway-gen4-aleph", json=payload(clip_uri), headers=auth()
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp4"
    assert describe_clip(response.content).codec == "h264"
