"""Runway's wire protocol over plain httpx: headers, validation, THROTTLED, DELETE, credits."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.emulator.support import configure, eventually, keys, kid, stats

VERSION = {"X-Runway-Version": "2024-11-06"}


def headers(index: int = 0) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys('runway', index)}", **VERSION}


def body(clip_uri: str, **extra: Any) -> dict[str, Any]:
    return {"model": "aleph2", "videoUri": clip_uri, "promptText": "make it winter", **extra}


def create(emulator: httpx.Client, clip_uri: str, index: int = 0, **extra: Any) -> str:
    response = emulator.post(
        "/runway/v1/video_to_video", json=body(clip_uri, **extra), headers=headers(index)
    )
    assert response.status_code == 200, response.text
    task_id: str = response.json()["id"]
    return task_id


def task(emulator: httpx.Client, task_id: str, index: int = 0) -> httpx.Response:
    return emulator.get(f"/runway/v1/tasks/{task_id}", headers=headers(index))


def test_the_documented_example_succeeds_with_every_documented_field(
    emulator: httpx.Client, clip_uri: str, base: str
) -> None:
    example = body(
        clip_uri,
        ratio="1280:720",
        seed=42,
        keyframes=[{"seconds": 0, "uri": "https://example.com/ref.jpg"}],
        contentModeration={"publicFigureThreshold": "low"},
        outputFormat="mp4",
        targetAspectRatio="16:9",
    )
    created = emulator.post("/runway/v1/video_to_video", json=example, headers=headers())
    assert created.status_code == 200
    task_id = created.json()["id"]
    pending = task(emulator, task_id).json()
    assert pending["status"] in ("PENDING", "RUNNING")
    assert pending["estimatedCost"] == {"credits": 840}  # the most: 30 s at 28 credits/s
    assert pending["createdAt"].endswith("Z")
    done = eventually(lambda: (t := task(emulator, task_id).json())["status"] == "SUCCEEDED" and t)
    assert set(done) == {"id", "status", "createdAt", "output", "cost"}
    assert done["output"][0].startswith(f"{base}/runway/_files/")


def test_a_running_task_reports_progress(emulator: httpx.Client, clip_uri: str) -> None:
    configure(emulator, {"processing": {"min_s": 5, "max_s": 5}})
    task_id = create(emulator, clip_uri)
    configure(emulator, {"processing": {"min_s": 0.3, "max_s": 0.3}})
    running = eventually(lambda: (t := task(emulator, task_id).json())["status"] == "RUNNING" and t)
    assert 0 < running["progress"] < 1


def test_the_progress_exponent_knob_curves_the_reported_progress(
    emulator: httpx.Client, clip_uri: str
) -> None:
    configure(emulator, {"processing": {"min_s": 10, "max_s": 10}, "progress_exponent": 3.0})
    task_id = create(emulator, clip_uri)
    running = eventually(lambda: (t := task(emulator, task_id).json())["status"] == "RUNNING" and t)
    read_at = time.time()
    (remote,) = emulator.get("/_emulator/jobs").json()["jobs"]
    gone = (read_at - remote["created_at"]) / remote["duration_s"]
    assert abs(running["progress"] - gone**3) < 0.03, (running["progress"], gone)
    assert running["progress"] < gone - 0.1


@pytest.mark.parametrize("sent", [{}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"}])
def test_requests_without_a_bearer_key_get_401(
    emulator: httpx.Client, clip_uri: str, sent: dict[str, str]
) -> None:
    response = emulator.post(
        "/runway/v1/video_to_video", json=body(clip_uri), headers={**sent, **VERSION}
    )
    assert response.status_code == 401
    assert set(response.json()) == {"error"}


def test_a_missing_runway_version_header_is_a_400(emulator: httpx.Client, clip_uri: str) -> None:
    auth = {"Authorization": f"Bearer {keys('runway')}"}
    response = emulator.post("/runway/v1/video_to_video", json=body(clip_uri), headers=auth)
    assert response.status_code == 400
    assert "X-Runway-Version" in response.json()["error"]


@pytest.mark.parametrize(
    "change",
    [
        {"promptText": "x" * 1001},
        {"promptText": "\U0001f600" * 501},
        {"promptText": ""},
        {"targetAspectRatio": "1920:1080"},
        {"videoUri": None},
        {"model": "gen4_turbo"},
        {"seed": -1},
        {"keyframes": [{"seconds": n, "uri": "a"} for n in range(6)]},
        {"outputFormat": "mkv"},
    ],
)
def test_invalid_bodies_get_400_with_an_error_member(
    emulator: httpx.Client, clip_uri: str, change: dict[str, Any]
) -> None:
    sent = {k: v for k, v in {**body(clip_uri), **change}.items() if v is not None}
    response = emulator.post("/runway/v1/video_to_video", json=sent, headers=headers())
    assert response.status_code == 400
    assert isinstance(response.json()["error"], str)


def test_tasks_over_the_concurrency_limit_wait_as_throttled_and_run_in_order(
    emulator: httpx.Client, clip_uri: str
) -> None:
    configure(emulator, {"providers": {"runway": {"concurrency": 1}}})
    ids = [create(emulator, clip_uri, promptText=f"edit {n}") for n in range(3)]
    states = [task(emulator, task_id).json()["status"] for task_id in ids]
    assert states[0] in ("PENDING", "RUNNING")
    assert states[1:] == ["THROTTLED", "THROTTLED"]
    eventually(lambda: task(emulator, ids[0]).json()["status"] == "SUCCEEDED")
    assert task(emulator, ids[1]).json()["status"] in ("PENDING", "RUNNING", "SUCCEEDED")
    assert task(emulator, ids[2]).json()["status"] in ("THROTTLED", "PENDING", "RUNNING")
    eventually(lambda: task(emulator, ids[2]).json()["status"] == "SUCCEEDED")
    peak = emulator.get("/_emulator/stats").json()["peak_concurrent"]["runway"]
    assert peak == {kid("runway"): 1}


def test_delete_cancels_a_live_task_and_deletes_a_finished_one(
    emulator: httpx.Client, clip_uri: str
) -> None:
    configure(emulator, {"processing": {"min_s": 30, "max_s": 30}})
    live = create(emulator, clip_uri)
    deleted = emulator.delete(f"/runway/v1/tasks/{live}", headers={**headers(), "Accept": "*/*"})
    assert deleted.status_code == 204
    assert task(emulator, live).json()["status"] == "CANCELLED"
    assert emulator.delete(f"/runway/v1/tasks/{live}", headers=headers()).status_code == 204
    assert task(emulator, live).status_code == 404


def test_another_key_cannot_see_a_task(emulator: httpx.Client, clip_uri: str) -> None:
    task_id = create(emulator, clip_uri)
    assert task(emulator, task_id, index=1).status_code == 404
    assert task(emulator, "11111111-2222-3333-4444-555555555555").json() == {
        "error": "Task not found."
    }


def test_a_key_without_credits_gets_400(emulator: httpx.Client, clip_uri: str) -> None:
    emulator.post("/_emulator/keys", json={"key": keys("runway"), "credits": 1}).raise_for_status()
    create(emulator, clip_uri)
    response = emulator.post("/runway/v1/video_to_video", json=body(clip_uri), headers=headers())
    assert response.status_code == 400
    assert "credits" in response.json()["error"]


def test_wrong_methods_and_paths_get_runway_errors(emulator: httpx.Client) -> None:
    assert emulator.get("/runway/v1/video_to_video", headers=headers()).status_code == 405
    missing = emulator.get("/runway/v1/nothing", headers=headers())
    assert missing.status_code == 404
    assert set(missing.json()) == {"error"}


def test_gen4_aleph_is_refused_with_runways_validation_body(
    emulator: httpx.Client, clip_uri: str
) -> None:
    response = emulator.post(
        "/runway/v1/video_to_video",
        json={**body(clip_uri), "model": "gen4_aleph"},
        headers=headers(),
    )
    assert response.status_code == 400
    answer = response.json()
    assert set(answer) == {"error", "issues"}
    assert "aleph2" in answer["error"]
    assert answer["issues"][0]["path"] == ["model"]
    assert stats(emulator)["submissions"]["paid_total"] == 0


def test_an_input_url_is_checked_with_head_as_runway_documents(
    emulator: httpx.Client, clip: bytes, http_source: Callable[[bytes, int], str]
) -> None:
    good = http_source(clip, 200)
    assert create(emulator, good)
    refused = {
        "redirect": http_source(clip, 302),
        "missing": http_source(b"", 404),
        "public http": "http://example.com/in.mp4",
    }
    for name, url in refused.items():
        response = emulator.post("/runway/v1/video_to_video", json=body(url), headers=headers())
        assert response.status_code == 400, name
        assert response.json()["error"].startswith("videoUri: "), name
    assert stats(emulator)["submissions"]["paid_total"] == 1


def test_the_daily_cap_answers_429_until_the_rolling_window_frees(
    emulator: httpx.Client, clip_uri: str
) -> None:
    configure(emulator, {"providers": {"runway": {"daily_generations": 2, "daily_window_s": 2}}})
    create(emulator, clip_uri)
    create(emulator, clip_uri)
    over = emulator.post("/runway/v1/video_to_video", json=body(clip_uri), headers=headers())
    assert over.status_code == 429
    assert "daily" in over.json()["error"]
    organization = emulator.get("/runway/v1/organization", headers=headers()).json()
    assert organization["usage"]["models"]["aleph2"] == {"dailyGenerations": 2}

    def accepted() -> bool:
        sent = emulator.post("/runway/v1/video_to_video", json=body(clip_uri), headers=headers())
        return sent.status_code == 200

    eventually(accepted, timeout_s=5)


def test_the_organization_reports_the_keys_tier_and_credit_balance(emulator: httpx.Client) -> None:
    emulator.post("/_emulator/keys", json={"key": keys("runway"), "concurrency": 3, "credits": 10})
    configure(emulator, {"keys": {kid("runway"): {"daily_generations": 50}}})
    response = emulator.get("/runway/v1/organization", headers=headers())
    assert response.status_code == 200
    answer = response.json()
    assert answer["tier"]["models"]["aleph2"] == {
        "maxConcurrentGenerations": 3,
        "maxDailyGenerations": 50,
    }
    assert answer["creditBalance"] == 10 * 140
    assert isinstance(answer["tier"]["maxMonthlyCreditSpend"], int)


def test_a_task_bills_its_seconds_when_done_and_a_failed_one_is_refunded(
    emulator: httpx.Client, clip_uri: str
) -> None:
    configure(
        emulator, {"moderation_keyword": "snowman", "processing": {"min_s": 0.2, "max_s": 0.2}}
    )
    done_id, flagged_id = (
        create(emulator, clip_uri),
        create(emulator, clip_uri, promptText="snowman"),
    )
    done = eventually(lambda: (t := task(emulator, done_id).json())["status"] == "SUCCEEDED" and t)
    flagged = eventually(
        lambda: (t := task(emulator, flagged_id).json())["status"] == "FAILED" and t
    )
    # The clip is a few seconds long: 28 credits a second, under the 840-credit estimate.
    assert 28 <= done["cost"]["credits"] < 840
    assert flagged["cost"] == {"credits": 0}
    # The emulator's own ledger holds the same figures, in dollars.
    assert stats(emulator)["charges_usd"] == {"runway": done["cost"]["credits"] / 100}
