"""Runway as of SDK 5.24: null limits, the 5 MB data URI limit, costs in credits (pure)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from config.catalogue import CATALOGUE
from config.settings import ProviderName
from jobs.request import EditRequest
from providers import comfy, runway
from providers.errors import InvalidRequest
from providers.validation import data_uri_bytes

NOW = datetime(2026, 12, 7, tzinfo=UTC)
SPEC = CATALOGUE[ProviderName.RUNWAY]


def data_uri(size: int) -> str:
    return "data:video/mp4;base64," + base64.b64encode(b"\0" * size).decode()


def test_a_video_data_uri_over_5_mb_is_refused_before_sending() -> None:
    assert data_uri_bytes(data_uri(1234)) == 1234
    # EditRequest keeps URLs short; a long data URI is built past its validation here.
    fits = EditRequest.model_construct(video_url=data_uri(5_000_000), prompt="p")
    runway.validate_request(fits, SPEC)
    over = EditRequest.model_construct(video_url=data_uri(5_000_001), prompt="p")
    with pytest.raises(InvalidRequest, match="at most 5 MB") as caught:
        runway.validate_request(over, SPEC)
    assert caught.value.field == "video_url"
    with pytest.raises(InvalidRequest, match="at most 5 MB"):
        comfy.ComfyAdapter.check(over, CATALOGUE[ProviderName.COMFY])


def test_null_limits_of_the_organization_are_read_as_not_said() -> None:
    body = {"creditBalance": 100, "tier": {"models": {"aleph2": {
        "maxConcurrentGenerations": None, "maxDailyGenerations": None}}},
        "usage": {"models": {"aleph2": {"dailyGenerations": 3}}}}  # fmt: skip
    tier = runway.parse_organization(200, {}, json.dumps(body).encode(), spec=SPEC, now=NOW)
    assert (tier.concurrency, tier.daily_generations, tier.used_today) == (None, None, 3)


def test_the_estimate_at_create_is_read_in_dollars() -> None:
    answer = {"id": "t-1", "estimatedCost": {"credits": 840}}
    job = runway.parse_submit(200, {}, json.dumps(answer).encode(), spec=SPEC, now=NOW)
    assert (job.remote_id, job.estimated_cost_usd) == ("t-1", 8.40)
    bare = runway.parse_submit(200, {}, b'{"id": "t-2"}', spec=SPEC, now=NOW)
    assert bare.estimated_cost_usd is None
