"""crun's ``{code, message, data}`` envelope and its callback, over plain httpx."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.emulator.support import Receiver, eventually, keys

CREATE = "/crun/api/v1/client/job/CreateTask"
INFO = "/crun/api/v1/client/job/TaskInfo"
DATA_FIELDS = {
    "task_id", "provider", "model_version", "status", "param", "create_at",
    "result", "duration_s", "complete_at", "source",
}  # fmt: skip


def auth() -> dict[str, str]:
    return {"x-api-key": keys("crun"), "Content-Type": "application/json"}


def example(video_url: str, callback_url: str | None = None, **extra: Any) -> dict[str, Any]:
    task_input = {"prompt": "make it winter", "video_url": video_url, "aspect_ratio": "16:9"}
    return {
        "model": "runway/gen-4-aleph",
        "callback_url": callback_url,
        "input": {**task_input, "seed": 42, **extra},
    }


def create(emulator: httpx.Client, body: dict[str, Any]) -> str:
    response = emulator.post(CREATE, json=body, headers=auth())
    assert response.status_code == 200, response.text
    envelope = response.json()
    assert envelope["code"] == 200 and envelope["message"] == "success"
    task_id: str = envelope["data"]["task_id"]
    return task_id


def info(emulator: httpx.Client, task_id: str) -> dict[str, Any]:
    response = emulator.get(INFO, params={"task_id": task_id}, headers=auth())
    envelope: dict[str, Any] = response.json()
    assert response.status_code == envelope["code"] == 200
    assert envelope["message"] == "success"
    data: dict[str, Any] = envelope["data"]
    return data


def settled(emulator: httpx.Client, task_id: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        data = info(emulator, task_id)
        assert data["status"] in ("pending", "running", "success", "failed")
        return data if data["status"] in ("success", "failed") else None

    result: dict[str, Any] = eventually(check)
    return result


def test_a_task_succeeds_and_its_data_is_posted_to_the_callback(
    emulator: httpx.Client, clip_uri: str, callback_receiver: Receiver, base: str
) -> None:
    body = example(clip_uri, callback_receiver.url, img_urls=["https://example.com/ref.jpg"])
    task_id = create(emulator, body)
    running = info(emulator, task_id)
    assert set(running) == DATA_FIELDS
    assert running["status"] in ("pending", "running")
    assert running["result"] is None and running["complete_at"] is None
    assert running["param"] == {
        "model": body["model"],
        "callback_url": body["callback_url"],
        "input": body["input"],
    }
    done = settled(emulator, task_id)
    assert set(done) == DATA_FIELDS | {"credits"}
    assert (done["provider"], done["model_version"], done["source"]) == (
        "runway",
        "gen-4-aleph",
        "api",
    )
    assert done["complete_at"] >= done["create_at"] and done["duration_s"] >= 0
    assert done["result"]["code"] == 200
    (url,) = done["result"]["media_urls"]
    assert url.startswith(f"{base}/crun/_files/")
    (posted,) = eventually(lambda: callback_receiver.bodies)
    assert posted["task_id"] == task_id and posted["status"] == "success"
    assert set(posted) == set(done)
    assert emulator.get("/_emulator/stats").json()["callbacks_sent"] == 1


def test_a_failed_task_has_a_501_result_and_is_called_back_too(
    emulator: httpx.Client, clip_uri: str, callback_receiver: Receiver
) -> None:
    task_id = create(emulator, example(clip_uri, callback_receiver.url, prompt="forbidden"))
    failed = settled(emulator, task_id)
    assert failed["status"] == "failed"
    assert failed["result"]["code"] == 501 and failed["result"]["message"]
    (posted,) = eventually(lambda: callback_receiver.bodies)
    assert posted["status"] == "failed"


def test_unknown_input_keys_are_accepted(emulator: httpx.Client, clip_uri: str) -> None:
    task_id = create(emulator, example(clip_uri, resolution="720p", duration=5, watermark=False))
    assert settled(emulator, task_id)["status"] == "success"


def test_estimate_credits_answers_in_the_envelope(emulator: httpx.Client, clip_uri: str) -> None:
    response = emulator.post(
        "/crun/api/v1/client/job/estimate-credits", json=example(clip_uri), headers=auth()
    )
    assert response.json() == {
        "code": 200,
        "message": "success",
        "data": {"credits": 6, "estimated": True},
    }


def assert_envelope(response: httpx.Response, code: int) -> None:
    assert response.status_code == code
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["data"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"model": "runway/gen-4-aleph", "input": {"prompt": "x"}},
        {"model": "runway/gen-4-aleph", "input": {"video_url": "data:,x"}},
        {"model": "runway/gen4_aleph", "input": {"prompt": "x", "video_url": "data:,x"}},
        {"model": "runway/gen-4-aleph", "input": {"prompt": "p" * 1001, "video_url": "data:,x"}},
        {
            "model": "runway/gen-4-aleph",
            "input": {"prompt": "x", "video_url": "data:,x", "aspect_ratio": "2:1"},
        },
        {"model": "runway/gen-4-aleph"},
    ],
)
def test_invalid_bodies_get_422(emulator: httpx.Client, body: dict[str, Any]) -> None:
    assert_envelope(emulator.post(CREATE, json=body, headers=auth()), 422)


def test_errors_use_the_envelope_with_the_http_status_as_code(
    emulator: httpx.Client, clip_uri: str
) -> None:
    assert_envelope(emulator.post(CREATE, json=example(clip_uri)), 401)
    assert_envelope(emulator.get(INFO, params={"task_id": "nope"}, headers=auth()), 404)
    emulator.post("/_emulator/inject/maintenance", json={"provider": "crun", "duration_s": 30})
    maintenance = emulator.post(CREATE, json=example(clip_uri), headers=auth())
    assert_envelope(maintenance, 455)
    assert int(maintenance.headers["retry-after"]) >= 1


def test_a_disabled_model_is_505_and_no_credits_is_402(
    emulator: httpx.Client, clip_uri: str
) -> None:
    emulator.post("/_emulator/config", json={"providers": {"crun": {"disabled": True}}})
    assert_envelope(emulator.post(CREATE, json=example(clip_uri), headers=auth()), 505)
    emulator.post("/_emulator/config", json={"providers": {"crun": {"disabled": False}}})
    emulator.post("/_emulator/keys", json={"key": keys("crun"), "credits": 0}).raise_for_status()
    assert_envelope(emulator.post(CREATE, json=example(clip_uri), headers=auth()), 402)
