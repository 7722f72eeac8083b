"""`EmulatorAdmin`, the Python face of the admin API, drives the same knobs."""

from __future__ import annotations

import httpx

from emulator.client import EmulatorAdmin
from tests.emulator.support import keys, kid


def test_the_admin_client_sets_knobs_injects_faults_and_resets(
    emulator: httpx.Client, clip_uri: str
) -> None:
    admin = EmulatorAdmin(emulator)
    key = keys("vibedream")
    assert admin.limit_key(key, concurrency=1, credits=4)["keys"][kid("vibedream")]["credits"] == 4
    assert admin.configure(output_padding_bytes=64)["output_padding_bytes"] == 64
    assert admin.accept_keys("vibedream", [key])["providers"]["vibedream"]["accepted_key_ids"]
    admin.rate_limit(key, count=1, retry_after_s=2)
    poll = "/vibedream/api/v1/predictions/x"
    bearer = {"Authorization": f"Bearer {key}"}
    assert emulator.get(poll, headers=bearer).status_code == 429
    assert emulator.get(poll, headers=bearer).status_code == 404
    admin.maintenance(30, provider="vibedream")
    assert emulator.get(poll, headers=bearer).status_code == 503
    assert admin.stats()["rate_limited_total"] == 1
    assert admin.preset("tight")["preset"] == "tight"
    assert admin.reset()["preset"] == "calm"
    assert admin.config()["keys"] == {}
    assert emulator.get(poll, headers=bearer).status_code == 404
