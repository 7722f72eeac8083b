"""aimlapi's two paths over plain httpx, replaying the docs' example with a local video."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.emulator.support import eventually, keys

UNIVERSAL = "/aimlapi/v2/video/generations"
LEGACY = "/aimlapi/v2/generate/video/runway/generation"
PROMPT = (
    "Add a small fairy as a rider on the raccoon's back. She must have a black-and-golden face "
    "and a cloak in the colors of a dark emerald tropical butterfly "
    "with bright blue shimmering spots."
)
ERROR_FIELDS = {"message", "path", "requestId", "statusCode", "timestamp"}


def auth(index: int = 0) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys('aimlapi', index)}", "Content-Type": "application/json"}


def example(video_url: str, **extra: Any) -> dict[str, Any]:
    return {"model": "runway/gen4_aleph", "video_url": video_url, "prompt": PROMPT, **extra}


def generate(emulator: httpx.Client, path: str, body: dict[str, Any]) -> str:
    response = emulator.post(path, json=body, headers=auth())
    assert response.status_code == 200, response.text
    created = response.json()
    assert set(created) == {"id", "status"}
    assert created["status"] == "queued"
    generation_id: str = created["id"]
    return generation_id


def fetch(emulator: httpx.Client, path: str, generation_id: str) -> dict[str, Any]:
    response = emulator.get(path, params={"generation_id": generation_id}, headers=auth())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def finished(emulator: httpx.Client, path: str, generation_id: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        body = fetch(emulator, path, generation_id)
        assert body["status"] in ("queued", "generating", "completed", "error")
        return body if body["status"] in ("completed", "error") else None

    result: dict[str, Any] = eventually(check)
    return result


def test_the_universal_path_returns_video_as_an_object(
    emulator: httpx.Client, http_source: Callable[[bytes, int], str], clip: bytes, base: str
) -> None:
    generation_id = generate(emulator, UNIVERSAL, example(http_source(clip, 200)))
    body = finished(emulator, UNIVERSAL, generation_id)
    assert body["status"] == "completed"
    assert set(body) == {"id", "status", "video", "error", "meta"}
    assert body["video"]["url"].startswith(f"{base}/aimlapi/_files/")
    assert body["error"] is None
    assert body["meta"]["usage"]["credits_used"] > 0


def test_the_legacy_path_returns_video_as_a_list(
    emulator: httpx.Client, http_source: Callable[[bytes, int], str], clip: bytes
) -> None:
    generation_id = generate(emulator, LEGACY, example(http_source(clip, 200)))
    body = finished(emulator, LEGACY, generation_id)
    assert body["id"] == generation_id
    assert body["status"] == "completed"
    (url,) = body["video"]
    assert emulator.get(url).status_code == 200


def test_a_generation_can_be_polled_on_either_path(emulator: httpx.Client, clip_uri: str) -> None:
    generation_id = generate(emulator, LEGACY, example(clip_uri, frame_size="720:1280", seed=7))
    assert isinstance(finished(emulator, UNIVERSAL, generation_id)["video"], dict)
    assert isinstance(finished(emulator, LEGACY, generation_id)["video"], list)


def test_failures_carry_an_error_object_or_string_by_path(
    emulator: httpx.Client, clip_uri: str
) -> None:
    generation_id = generate(emulator, UNIVERSAL, example(clip_uri, prompt="forbidden raccoon"))
    universal = finished(emulator, UNIVERSAL, generation_id)
    assert universal["status"] == "error"
    assert set(universal["error"]) == {"name", "message"}
    assert universal["video"] is None
    legacy = finished(emulator, LEGACY, generation_id)
    assert isinstance(legacy["error"], str)


def test_an_unfetchable_video_ends_the_generation_in_error(
    emulator: httpx.Client, http_source: Callable[[bytes, int], str]
) -> None:
    generation_id = generate(emulator, UNIVERSAL, example(http_source(b"", 404)))
    body = finished(emulator, UNIVERSAL, generation_id)
    assert body["status"] == "error"
    assert "404" in body["error"]["message"]


@pytest.mark.parametrize(
    "change",
    [
        {"prompt": "p" * 1001},
        {"frame_size": "1920:1080"},
        {"duration": 10},
        {"model": "runway/gen4_turbo"},
        {"video_url": None},
        {"seed": 4_294_967_296},
        {"references": [{"type": "image", "uri": "https://example.com/a.jpg"}]},
    ],
)
def test_invalid_bodies_get_400_with_the_aimlapi_error_body(
    emulator: httpx.Client, clip_uri: str, change: dict[str, Any]
) -> None:
    sent = {k: v for k, v in {**example(clip_uri), **change}.items() if v is not None}
    response = emulator.post(UNIVERSAL, json=sent, headers=auth())
    assert response.status_code == 400
    body = response.json()
    assert set(body) == ERROR_FIELDS
    assert body["message"].startswith("Body validation error!")
    assert body["path"] == "/v2/video/generations"
    assert body["statusCode"] == "400"


def test_a_missing_key_gets_401_and_credits_run_out_as_403(
    emulator: httpx.Client, clip_uri: str
) -> None:
    unauthenticated = emulator.post(UNIVERSAL, json=example(clip_uri))
    assert unauthenticated.status_code == 401
    assert set(unauthenticated.json()) == ERROR_FIELDS
    emulator.post("/_emulator/keys", json={"key": keys("aimlapi"), "credits": 0}).raise_for_status()
    broke = emulator.post(UNIVERSAL, json=example(clip_uri), headers=auth())
    assert broke.status_code == 403
    assert broke.json()["statusCode"] == "403"


def test_an_unknown_generation_is_404(emulator: httpx.Client) -> None:
    response = emulator.get(UNIVERSAL, params={"generation_id": "nope"}, headers=auth())
    assert response.status_code == 404
    assert set(response.json()) == ERROR_FIELDS
