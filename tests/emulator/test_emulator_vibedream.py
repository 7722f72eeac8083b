"""vibedream's flat prediction object over plain httpx, replaying the seed page's example."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.emulator.support import eventually, keys

GENERATE = "/vibedream/api/v1/models/gen4-aleph/generate"
SUBMIT_FIELDS = {"id", "status", "statusUrl", "estimatedTime", "costCents", "createdAt"}
POLL_FIELDS = {
    "id",
    "modelId",
    "modelName",
    "status",
    "outputs",
    "error",
    "createdAt",
    "completedAt",
}


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {keys('vibedream')}", "Content-Type": "application/json"}


def example(video: str, **extra: Any) -> dict[str, Any]:
    return {
        "prompt": "A beautiful sunset over mountains with golden light",
        "video": video,
        "aspect_ratio": "16:9",
        "reference_image": "https://example.com/your-reference_image.jpg",
        **extra,
    }


def generate(emulator: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = emulator.post(GENERATE, json=body, headers=auth())
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created


def settled(emulator: httpx.Client, url: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        body: dict[str, Any] = emulator.get(url, headers=auth()).json()
        assert body["status"] in ("processing", "completed", "failed")
        return None if body["status"] == "processing" else body

    result: dict[str, Any] = eventually(check)
    return result


def test_the_example_is_answered_with_the_flat_object_then_completes(
    emulator: httpx.Client, http_source: Callable[[bytes, int], str], clip: bytes, base: str
) -> None:
    created = generate(emulator, example(http_source(clip, 200)))
    assert set(created) >= SUBMIT_FIELDS
    assert created["status"] == "processing"
    assert created["statusUrl"] == f"{base}/vibedream/api/v1/predictions/{created['id']}"
    assert created["estimatedTime"] == "5-15s"
    assert created["costCents"] == 100
    assert created["createdAt"].endswith("Z")
    assert (
        created["outputs"] is None and created["error"] is None and created["completedAt"] is None
    )
    done = settled(emulator, created["statusUrl"])
    assert set(done) == set(created)
    assert set(done) >= POLL_FIELDS
    assert (done["modelId"], done["modelName"]) == ("gen4-aleph", "RunwayML Gen4 Aleph")
    assert done["status"] == "completed"
    assert done["error"] is None and done["completedAt"] >= done["createdAt"]
    (url,) = done["outputs"]
    assert emulator.get(url).headers["content-type"] == "video/mp4"


def test_a_moderated_prompt_fails_with_an_error_string(
    emulator: httpx.Client, clip_uri: str
) -> None:
    created = generate(emulator, example(clip_uri, prompt="a forbidden sunset"))
    failed = settled(emulator, created["statusUrl"])
    assert failed["status"] == "failed"
    assert failed["outputs"] is None
    assert "moderation" in failed["error"]
    assert failed["completedAt"] is not None


@pytest.mark.parametrize(
    "change", [{"aspect_ratio": "21:9"}, {"prompt": "p" * 1001}, {"video": None}, {"prompt": None}]
)
def test_invalid_bodies_get_400(
    emulator: httpx.Client, clip_uri: str, change: dict[str, Any]
) -> None:
    sent = {k: v for k, v in {**example(clip_uri), **change}.items() if v is not None}
    response = emulator.post(GENERATE, json=sent, headers=auth())
    assert response.status_code == 400
    assert set(response.json()) == {"error"}


def test_auth_credits_and_unknown_ids_get_their_codes(
    emulator: httpx.Client, clip_uri: str
) -> None:
    assert emulator.post(GENERATE, json=example(clip_uri)).status_code == 401
    missing = emulator.get("/vibedream/api/v1/predictions/nope", headers=auth())
    assert missing.status_code == 404
    emulator.post(
        "/_emulator/keys", json={"key": keys("vibedream"), "credits": 0}
    ).raise_for_status()
    assert emulator.post(GENERATE, json=example(clip_uri), headers=auth()).status_code == 402
