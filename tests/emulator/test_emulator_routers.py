"""Comfy's and OpenRouter's wire protocols over plain httpx: Comfy's key replays and conflicts,
the path naming the model, and OpenRouter's usage.cost held to the emulator's ledger."""

from __future__ import annotations

from typing import Any

import httpx

from tests.emulator.support import configure, eventually, keys, stats

COMFY = "/comfy/v2/models/runway/aleph2/requests"


def comfy(emulator: httpx.Client, body: dict[str, Any], key: str | None = None) -> httpx.Response:
    headers = {"X-API-Key": keys("comfy"), **({"Idempotency-Key": key} if key else {})}
    return emulator.post(COMFY, json=body, headers=headers)


def test_comfy_replays_a_key_and_refuses_it_with_another_body(
    emulator: httpx.Client, clip_uri: str
) -> None:
    body = {"videoUri": clip_uri, "promptText": "make it winter"}
    first = comfy(emulator, body, "job-1.1")
    again = comfy(emulator, body, "job-1.1")
    other = comfy(emulator, {**body, "promptText": "make it summer"}, "job-1.1")
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.json()["request_id"] == first.json()["request_id"]
    assert other.headers["x-comfy-error-type"] == "invalid_input"
    assert stats(emulator)["submissions"]["by_idempotency_key"] == {"job-1.1": 1}
    # On this route the path names the model: a body that names it too is refused.
    named = comfy(emulator, {**body, "model": "aleph2"})
    assert named.status_code == 422


def test_openrouter_bills_a_finished_job_what_its_ledger_charged(
    emulator: httpx.Client, clip_uri: str
) -> None:
    configure(emulator, {"processing": {"min_s": 0.2, "max_s": 0.2}})
    auth = {"Authorization": f"Bearer {keys('openrouter')}"}
    source = {"type": "video_url", "video_url": {"url": clip_uri}}
    body = {"model": "runway/aleph-2", "prompt": "make it winter", "input_references": [source]}
    created = emulator.post("/openrouter/api/v1/videos", json=body, headers=auth).json()
    assert created["status"] == "pending" and created["polling_url"].endswith(created["id"])
    path = f"/openrouter/api/v1/videos/{created['id']}"
    done = eventually(
        lambda: (v := emulator.get(path, headers=auth).json())["status"] == "completed" and v
    )
    assert done["urls"] and done["usage"]["cost"] > 0
    assert stats(emulator)["charges_usd"] == {"openrouter": done["usage"]["cost"]}
