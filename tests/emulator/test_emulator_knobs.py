"""Every knob of the emulator, each shown by its effect on real HTTP traffic."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from media.samples import describe_clip
from tests.emulator.support import configure, eventually, keys, kid, stats

SUBMIT = "/segmind/v2/runway-gen4-aleph"


def auth(index: int = 0) -> dict[str, str]:
    return {"x-api-key": keys("segmind", index)}


def submit(
    client: httpx.Client,
    clip_uri: str,
    index: int = 0,
    prompt: str = "make it winter",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    body = {"video": clip_uri, "prompt": prompt}
    return client.post(SUBMIT, json=body, headers={**auth(index), **(headers or {})})


def status(client: httpx.Client, request_id: str, index: int = 0) -> httpx.Response:
    return client.get(f"/segmind/v2/requests/{request_id}/status", headers=auth(index))


def completed(client: httpx.Client, request_id: str) -> dict[str, Any]:
    eventually(lambda: status(client, request_id).json()["status"] in ("COMPLETED", "FAILED"))
    result: dict[str, Any] = client.get(f"/segmind/v2/requests/{request_id}", headers=auth()).json()
    return result


def test_processing_time_is_drawn_from_the_configured_distribution(
    emulator: httpx.Client, clip_uri: str
) -> None:
    configure(emulator, {"processing": {"min_s": 40, "max_s": 60}})
    ids = [submit(emulator, clip_uri, prompt=f"p{n}").json()["request_id"] for n in range(8)]
    durations = [job["duration_s"] for job in emulator.get("/_emulator/jobs").json()["jobs"]]
    assert len(durations) == 8 and len(set(durations)) > 1
    assert all(40 <= duration <= 60 for duration in durations)
    assert status(emulator, ids[0]).json()["status"] == "QUEUED"


def test_a_per_provider_processing_time_overrides_the_global_one(
    emulator: httpx.Client, clip_uri: str
) -> None:
    configure(emulator, {"providers": {"segmind": {"processing": {"min_s": 90, "max_s": 90}}}})
    submit(emulator, clip_uri)
    assert emulator.get("/_emulator/jobs").json()["jobs"][0]["duration_s"] == 90


def test_the_concurrency_limit_answers_429_with_retry_after_per_key(
    emulator: httpx.Client, clip_uri: str
) -> None:
    configure(
        emulator,
        {"processing": {"min_s": 30, "max_s": 30}, "providers": {"segmind": {"concurrency": 1}}},
    )
    assert submit(emulator, clip_uri).status_code == 200
    refused = submit(emulator, clip_uri, prompt="second")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert submit(emulator, clip_uri, index=1).status_code == 200
    emulator.post(
        "/_emulator/keys", json={"key": keys("segmind"), "concurrency": 2}
    ).raise_for_status()
    assert submit(emulator, clip_uri, prompt="third").status_code == 200
    assert stats(emulator)["peak_concurrent"]["segmind"][kid("segmind")] == 2


def test_the_request_rate_limit_answers_429_with_retry_after(emulator: httpx.Client) -> None:
    emulator.post(
        "/_emulator/keys", json={"key": keys("segmind"), "rate_per_s": 0.2}
    ).raise_for_status()
    assert status(emulator, "unknown").status_code == 404
    limited = status(emulator, "unknown")
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 5
    assert status(emulator, "unknown", index=1).status_code == 404
    assert stats(emulator)["rate_limited_total"] == 1


def test_an_injected_rate_limit_burst_hits_the_next_n_requests_of_a_key(
    emulator: httpx.Client,
) -> None:
    burst = {"key": keys("segmind"), "count": 2, "retry_after_s": 3}
    assert emulator.post("/_emulator/inject/rate-limit", json=burst).json()["count"] == 2
    first, second, third = (status(emulator, "x") for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (429, 429, 404)
    assert first.headers["retry-after"] == "3"


def test_a_maintenance_window_makes_a_provider_unavailable(
    emulator: httpx.Client, clip_uri: str
) -> None:
    emulator.post("/_emulator/inject/maintenance", json={"provider": "segmind", "duration_s": 60})
    down = submit(emulator, clip_uri)
    assert down.status_code == 503
    assert int(down.headers["retry-after"]) >= 59
    other = emulator.get("/vibedream/api/v1/predictions/x", headers={"Authorization": "Bearer k"})
    assert other.status_code == 404
    assert stats(emulator)["submissions"]["paid_total"] == 0


def test_a_maintenance_window_can_send_no_retry_after(
    emulator: httpx.Client, clip_uri: str
) -> None:
    body = {"provider": "segmind", "duration_s": 60, "retry_after": False}
    assert emulator.post("/_emulator/inject/maintenance", json=body).status_code == 200
    down = submit(emulator, clip_uri)
    assert down.status_code == 503
    assert "retry-after" not in down.headers
    assert stats(emulator)["submissions"]["paid_total"] == 0


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("rate_limited", 429),
        ("maintenance", 503),
        ("server_error", 500),
        ("bad_gateway", 502),
        ("unavailable", 503),
    ],
)
def test_rejection_faults_answer_their_code_and_charge_nothing(
    emulator: httpx.Client, clip_uri: str, fault: str, code: int
) -> None:
    configure(emulator, {"faults": {fault: 1.0}})
    response = submit(emulator, clip_uri)
    assert response.status_code == code
    assert set(response.json()) == {"error"}
    counters = stats(emulator)
    assert counters["faults"] == {fault: 1}
    assert counters["submissions"]["paid_total"] == 0


def test_a_slow_response_is_delayed_past_a_short_client_timeout(emulator: httpx.Client) -> None:
    configure(emulator, {"faults": {"slow": 1.0, "slow_s": 2.0}})
    with pytest.raises(httpx.ReadTimeout):
        emulator.get("/segmind/v2/requests/x/status", headers=auth(), timeout=0.5)
    assert stats(emulator)["faults"]["slow"] == 1


def test_a_timeout_holds_the_answer_after_the_job_was_created(
    emulator: httpx.Client, clip_uri: str
) -> None:
    configure(emulator, {"faults": {"timeout": 1.0, "timeout_s": 5.0}})
    with pytest.raises(httpx.ReadTimeout):
        emulator.post(SUBMIT, json={"video": clip_uri, "prompt": "x"}, headers=auth(), timeout=0.5)
    assert stats(emulator)["submissions"]["paid_total"] == 1


def test_malformed_json_is_served_after_the_job_was_created(
    emulator: httpx.Client, clip_uri: str
) -> None:
    configure(emulator, {"faults": {"malformed": 1.0}})
    response = submit(emulator, clip_uri)
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()
    assert stats(emulator)["submissions"]["paid_total"] == 1


def test_a_dropped_connection_gets_no_answer_but_the_job_was_created(
    emulator: httpx.Client, clip_uri: str
) -> None:
    configure(emulator, {"faults": {"dropped": 1.0}})
    with pytest.raises(httpx.RemoteProtocolError):
        submit(emulator, clip_uri)
    counters = stats(emulator)
    assert counters["submissions"]["paid_total"] == 1
    assert counters["requests"]["segmind"]["POST /v2/{slug}"] == {"dropped": 1}


def test_the_job_failure_rate_fails_remote_jobs(emulator: httpx.Client, clip_uri: str) -> None:
    configure(emulator, {"faults": {"job_failure": 1.0}})
    request_id = submit(emulator, clip_uri).json()["request_id"]
    result = completed(emulator, request_id)
    assert result["status"] == "FAILED"
    assert "Inference failed" in result["error"]


def test_the_moderation_keyword_is_configurable(emulator: httpx.Client, clip_uri: str) -> None:
    configure(emulator, {"moderation_keyword": "snowman"})
    flagged = submit(emulator, clip_uri, prompt="add a SNOWMAN").json()["request_id"]
    fine = submit(emulator, clip_uri, prompt="forbidden fruit").json()["request_id"]
    assert completed(emulator, flagged)["status"] == "FAILED"
    assert completed(emulator, fine)["status"] == "COMPLETED"


def test_a_credit_balance_pays_for_that_many_jobs(emulator: httpx.Client, clip_uri: str) -> None:
    emulator.post("/_emulator/keys", json={"key": keys("segmind"), "credits": 2}).raise_for_status()
    codes = [submit(emulator, clip_uri, prompt=f"p{n}").status_code for n in range(3)]
    assert codes == [200, 200, 406]
    assert stats(emulator)["credits_spent"] == {kid("segmind"): 2}


def test_honouring_idempotency_keys_returns_the_original_job(
    emulator: httpx.Client, clip_uri: str
) -> None:
    configure(emulator, {"honour_idempotency_key": True})
    first = submit(emulator, clip_uri, headers={"Idempotency-Key": "req-1"}).json()
    again = submit(emulator, clip_uri, headers={"Idempotency-Key": "req-1"}).json()
    other_key = submit(emulator, clip_uri, index=1, headers={"Idempotency-Key": "req-1"}).json()
    assert again["request_id"] == first["request_id"] != other_key["request_id"]
    submissions = stats(emulator)["submissions"]
    assert submissions["paid_total"] == 2 and submissions["replayed"] == 1
    assert submissions["requests_by_idempotency_key"] == {"req-1": 3}
    assert submissions["by_idempotency_key"] == {"req-1": 2}


def test_by_default_idempotency_keys_are_ignored_charged_twice_and_shown(
    emulator: httpx.Client, clip_uri: str
) -> None:
    first = submit(emulator, clip_uri, headers={"Idempotency-Key": "req-2"}).json()
    again = submit(emulator, clip_uri, headers={"Idempotency-Key": "req-2"}).json()
    assert first["request_id"] != again["request_id"]
    duplicates = stats(emulator)["submissions"]["duplicates"]
    assert {"kind": "idempotency_key", "id": "req-2", "paid": 2} in duplicates
    assert any(entry["kind"] == "key_and_body" for entry in duplicates)


def test_output_padding_appends_a_free_box_and_the_file_still_decodes(
    emulator: httpx.Client, clip_uri: str
) -> None:
    url = completed(emulator, submit(emulator, clip_uri).json()["request_id"])["output"]
    plain = emulator.get(url).content
    configure(emulator, {"output_padding_bytes": 3_000_000})
    head = emulator.head(url)
    assert int(head.headers["content-length"]) == len(plain) + 3_000_000
    padded = emulator.get(url).content
    assert padded[: len(plain)] == plain
    assert padded[len(plain) : len(plain) + 8] == (3_000_000).to_bytes(4, "big") + b"free"
    assert describe_clip(padded) == describe_clip(plain)


def test_output_urls_stop_working_after_the_retention(
    emulator: httpx.Client, clip_uri: str
) -> None:
    configure(emulator, {"providers": {"vibedream": {"retention_s": 1.0}}})
    bearer = {"Authorization": f"Bearer {keys('vibedream')}"}
    body = {"prompt": "x", "video": clip_uri}
    created = emulator.post(
        "/vibedream/api/v1/models/gen4-aleph/generate", json=body, headers=bearer
    ).json()
    done = eventually(
        lambda: (p := emulator.get(created["statusUrl"], headers=bearer).json())["outputs"] and p
    )
    assert emulator.get(done["outputs"][0]).status_code == 200
    eventually(lambda: emulator.get(done["outputs"][0]).status_code == 404)
    assert emulator.get(created["statusUrl"], headers=bearer).json()["status"] == "completed"


def test_runway_hands_out_fresh_urls_on_every_fetch(emulator: httpx.Client, clip_uri: str) -> None:
    configure(emulator, {"providers": {"runway": {"retention_s": 1.0}}})
    headers = {"Authorization": f"Bearer {keys('runway')}", "X-Runway-Version": "2024-11-06"}
    body = {"model": "aleph2", "videoUri": clip_uri, "promptText": "x"}
    task_id = emulator.post("/runway/v1/video_to_video", json=body, headers=headers).json()["id"]
    task = eventually(
        lambda: (
            (t := emulator.get(f"/runway/v1/tasks/{task_id}", headers=headers).json())["status"]
            == "SUCCEEDED"
            and t
        )
    )
    old = task["output"][0]
    eventually(lambda: emulator.get(old).status_code == 404)
    fresh = emulator.get(f"/runway/v1/tasks/{task_id}", headers=headers).json()["output"][0]
    assert fresh != old and emulator.get(fresh).status_code == 200


def test_jobs_cannot_be_polled_after_the_record_ttl(emulator: httpx.Client, clip_uri: str) -> None:
    configure(emulator, {"providers": {"segmind": {"record_ttl_s": 1.0}}})
    request_id = submit(emulator, clip_uri).json()["request_id"]
    assert status(emulator, request_id).status_code == 200
    eventually(lambda: status(emulator, request_id).status_code == 404)


def test_accepted_keys_restrict_a_provider_until_reset(
    emulator: httpx.Client, clip_uri: str
) -> None:
    allowed = {"provider": "segmind", "keys": [keys("segmind")]}
    config = emulator.post("/_emulator/accept", json=allowed).json()
    assert config["providers"]["segmind"]["accepted_key_ids"] == [kid("segmind")]
    assert keys("segmind") not in emulator.get("/_emulator/config").text
    assert submit(emulator, clip_uri, index=1).status_code == 401
    assert submit(emulator, clip_uri).status_code == 200
    emulator.post("/_emulator/reset").raise_for_status()
    assert submit(emulator, clip_uri, index=1).status_code == 200


def test_a_preset_replaces_the_knobs_and_chaos_causes_faults(
    emulator: httpx.Client, clip_uri: str
) -> None:
    chaos = emulator.post("/_emulator/preset", json={"name": "chaos"}).json()
    assert chaos["preset"] == "chaos" and chaos["faults"]["server_error"] > 0
    configure(emulator, {"seed": 7, "faults": {"timeout_s": 0.2, "slow_s": 0.05}})
    codes: set[int | str] = set()
    for _ in range(60):
        try:
            codes.add(status(emulator, "x", index=2).status_code)
        except httpx.HTTPError as exc:
            codes.add(type(exc).__name__)
    assert 404 in codes and len(codes) > 2
    assert stats(emulator)["faults"]
    assert emulator.post("/_emulator/preset", json={"name": "nope"}).status_code == 422


def test_config_takes_partial_updates_refuses_bad_ones_and_reset_restores_it(
    emulator: httpx.Client,
) -> None:
    start = emulator.get("/_emulator/config").json()
    assert start["preset"] == "calm" and start["processing"] == {"min_s": 0.3, "max_s": 0.3}
    updated = configure(
        emulator, {"faults": {"slow": 0.5}, "providers": {"crun": {"concurrency": 3}}}
    )
    assert updated["faults"]["slow"] == 0.5 and updated["faults"]["server_error"] == 0
    assert updated["providers"]["crun"]["concurrency"] == 3
    assert updated["providers"]["crun"]["retention_s"] == start["providers"]["crun"]["retention_s"]
    bad = emulator.post("/_emulator/config", json={"faults": {"slow": 2}})
    assert bad.status_code == 422 and "slow" in bad.json()["error"]
    assert emulator.post("/_emulator/config", json={"nonsense": 1}).status_code == 422
    assert emulator.post("/_emulator/reset").json() == start


def test_per_provider_fault_rates_override_the_global_ones(emulator: httpx.Client) -> None:
    configure(emulator, {"providers": {"segmind": {"faults": {"server_error": 1.0}}}})
    assert status(emulator, "x").status_code == 500
    runway = {"Authorization": f"Bearer {keys('runway')}", "X-Runway-Version": "2024-11-06"}
    assert emulator.get("/runway/v1/tasks/x", headers=runway).status_code == 404


def test_the_public_url_replaces_the_host_in_handed_out_urls(
    emulator: httpx.Client, clip_uri: str
) -> None:
    configure(emulator, {"public_url": "https://emulator.example:8443"})
    body = submit(emulator, clip_uri).json()
    assert body["status_url"].startswith("https://emulator.example:8443/segmind/v2/requests/")


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/in.mp4"
    listener.close()


def test_the_fetch_timeout_fails_jobs_whose_input_does_not_arrive(
    emulator: httpx.Client, silent_server: str
) -> None:
    configure(emulator, {"fetch_timeout_s": 0.3})
    result = completed(emulator, submit(emulator, silent_server).json()["request_id"])
    assert result["status"] == "FAILED"
    assert result["error"] == "Timeout while fetching asset."


def test_the_callback_timeout_gives_up_on_a_silent_receiver(
    emulator: httpx.Client, clip_uri: str, silent_server: str
) -> None:
    configure(emulator, {"callback_timeout_s": 0.3})
    body = {
        "model": "runway/gen-4-aleph",
        "callback_url": silent_server,
        "input": {"prompt": "x", "video_url": clip_uri},
    }
    emulator.post(
        "/crun/api/v1/client/job/CreateTask", json=body, headers={"x-api-key": keys("crun")}
    )
    eventually(lambda: stats(emulator)["callbacks_failed"] == 1)
    assert stats(emulator)["callbacks_sent"] == 0


def test_echo_credentials_is_off_by_default_and_then_quotes_the_key_in_errors_and_failures(
    emulator: httpx.Client, clip_uri: str
) -> None:
    key = keys("segmind")
    assert emulator.get("/_emulator/config").json()["echo_credentials"] is False
    assert key not in status(emulator, "no-such-request").text
    configure(emulator, {"echo_credentials": True})
    missing = status(emulator, "no-such-request")
    assert missing.status_code == 404
    assert missing.json()["error"] == f"Request not found or expired. (credential sent: {key})"
    refused = submit(emulator, clip_uri, prompt="forbidden").json()["request_id"]
    failed = completed(emulator, refused)
    assert failed["status"] == "FAILED" and failed["error"].endswith(f"(credential sent: {key})")
    fine = completed(emulator, submit(emulator, clip_uri).json()["request_id"])
    assert fine["status"] == "COMPLETED" and key not in json.dumps(fine)
