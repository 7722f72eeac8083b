"""``/_emulator/stats``: requests, jobs, concurrency, per-second history, duplicates; no keys."""

from __future__ import annotations

import httpx

from tests.emulator.support import configure, eventually, keys, kid, stats

SUBMIT = "/segmind/v2/runway-gen4-aleph"


def test_requests_are_counted_by_provider_endpoint_and_status(
    emulator: httpx.Client, clip_uri: str
) -> None:
    auth = {"x-api-key": keys("segmind")}
    request_id = emulator.post(
        SUBMIT, json={"video": clip_uri, "prompt": "x"}, headers=auth
    ).json()["request_id"]
    emulator.post(SUBMIT, json={"video": clip_uri}, headers=auth)
    emulator.get("/segmind/v2/requests/unknown/status", headers=auth)
    eventually(
        lambda: (
            emulator.get(f"/segmind/v2/requests/{request_id}/status", headers=auth).json()["status"]
            == "COMPLETED"
        )
    )
    counters = stats(emulator)
    segmind = counters["requests"]["segmind"]
    assert segmind["POST /v2/{slug}"] == {"200": 1, "400": 1}
    assert segmind["GET /v2/requests/{request_id}/status"]["404"] == 1
    assert counters["jobs_by_state"] == {"segmind": {"succeeded": 1}}
    per_second = counters["requests_per_second"]["segmind"][kid("segmind")]
    assert sum(per_second.values()) == counters["requests_total"]
    assert counters["max_requests_per_second"]["segmind"][kid("segmind")] == max(
        per_second.values()
    )


def test_concurrency_is_tracked_per_key_now_and_at_its_peak(
    emulator: httpx.Client, clip_uri: str
) -> None:
    configure(emulator, {"processing": {"min_s": 30, "max_s": 30}})
    for index, count in ((0, 3), (1, 1)):
        for n in range(count):
            body = {"video": clip_uri, "prompt": f"p{n}"}
            emulator.post(
                SUBMIT, json=body, headers={"x-api-key": keys("segmind", index)}
            ).raise_for_status()
    counters = stats(emulator)
    expected = {kid("segmind", 0): 3, kid("segmind", 1): 1}
    assert counters["current_concurrent"]["segmind"] == expected
    assert counters["peak_concurrent"]["segmind"] == expected
    assert counters["jobs_by_state"]["segmind"] == {"queued": 4}


def test_the_same_body_paid_twice_is_listed_as_a_duplicate(
    emulator: httpx.Client, clip_uri: str
) -> None:
    auth = {"x-api-key": keys("segmind")}
    for _ in range(2):
        emulator.post(
            SUBMIT, json={"video": clip_uri, "prompt": "same"}, headers=auth
        ).raise_for_status()
    emulator.post(
        SUBMIT, json={"video": clip_uri, "prompt": "other"}, headers=auth
    ).raise_for_status()
    submissions = stats(emulator)["submissions"]
    assert submissions["paid_total"] == 3
    assert sorted(submissions["by_key_and_body"].values()) == [1, 2]
    (duplicate,) = submissions["duplicates"]
    assert duplicate["kind"] == "key_and_body" and duplicate["paid"] == 2


def test_api_keys_never_appear_in_stats_config_or_job_listings(
    emulator: httpx.Client, clip_uri: str
) -> None:
    key = keys("segmind")
    emulator.post(SUBMIT, json={"video": clip_uri, "prompt": "x"}, headers={"x-api-key": key})
    emulator.post("/_emulator/keys", json={"key": key, "credits": 5}).raise_for_status()
    for path in ("/_emulator/stats", "/_emulator/config", "/_emulator/jobs"):
        text = emulator.get(path).text
        assert key not in text
        assert kid("segmind") in text
