"""Runway's organization endpoint sets each key's concurrency and daily cap (real workers)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis
from pydantic import SecretStr

from config.settings import ProviderName, Settings, key_id
from devstack import Stack
from devstack.stack import dev_key
from jobs import keys
from jobs.ledger import Ledger
from jobs.states import JobState
from jobs.tiers import DAILY_WINDOW_S, TierStore
from pipeline.context import Context
from pipeline.decisions import Done, Step, Then
from pipeline.submitting import submit_job
from providers.base import KeyTier
from tests.pipeline.conftest import make_job, states_of, unique_batch
from workers.dispatch import dispatch_jobs

RUNWAY = ProviderName.RUNWAY
KID = key_id(SecretStr(dev_key(RUNWAY)))


@pytest.fixture
def forget_tier(worker_settings: Settings) -> Iterator[None]:
    """The tier and daily count this test makes Redis hold are gone afterwards."""
    yield
    client = redis.Redis.from_url(worker_settings.redis_url)
    client.delete(keys.limiter("tier", RUNWAY.value, KID), keys.limiter("daily", RUNWAY.value, KID))


def test_a_tier_of_concurrency_3_makes_restyles_peak_3_without_a_catalogue_value(
    services: Stack,
    worker_env: dict[str, str],
    worker_settings: Settings,
    ledger: Ledger,
    celery_app,  # type: ignore[no-untyped-def]
    source_url: str,
    emulator: httpx.Client,
    forget_tier: None,
) -> None:
    assert "RESTYLE_RUNWAY__CONCURRENCY" not in worker_env  # the catalogue's guess is 2
    emulator.post("/_emulator/keys", json={"key": dev_key(RUNWAY), "concurrency": 3})
    emulator.post("/_emulator/config", json={"processing": {"min_s": 1.0, "max_s": 1.5}})
    services.start_worker(concurrency=6, name="tier", **worker_env)  # reads the tier at start
    stored = TierStore(ledger.client).load(RUNWAY.value, KID)
    assert stored is not None and stored.concurrency == 3
    batch = unique_batch("tier")
    jobs = [make_job(worker_settings, batch, f"c{n}", RUNWAY, source_url) for n in range(9)]
    ledger.add(jobs)
    dispatch_jobs(celery_app, jobs)
    peak = 0
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        states = list(states_of(ledger, jobs).values())
        peak = max(peak, sum(state is JobState.SUBMITTED for state in states))
        if all(state.terminal for state in states):
            break
        time.sleep(0.05)
    assert set(states_of(ledger, jobs).values()) == {JobState.STORED}
    stats = emulator.get("/_emulator/stats").json()
    assert stats["peak_concurrent"]["runway"][KID] == 3
    assert peak <= 3


def test_a_key_at_its_daily_cap_parks_submits_until_the_window_moves(
    settings: Settings, emulator: httpx.Client, source_url: str, forget_tier: None
) -> None:
    ctx = Context.from_settings(settings)
    now = datetime.now(UTC)
    store = TierStore(ctx.redis)
    store.save(RUNWAY.value, KID, KeyTier(concurrency=5, daily_generations=10))
    for n in range(10):
        store.record_generation(RUNWAY.value, KID, f"earlier-{n}", now.timestamp() - 3600 + n)
    job = make_job(settings, unique_batch("daily"), "c", RUNWAY, source_url)
    ctx.ledger.add([job])

    parked = submit_job(ctx, job.id, now)

    assert isinstance(parked, Done) and "daily cap of 10" in parked.reason
    frees_at = now.timestamp() - 3600 + DAILY_WINDOW_S  # when the oldest generation leaves
    assert ctx.redis.zscore(keys.watch(), job.id) == pytest.approx(frees_at, abs=1.0)
    assert ctx.ledger.require(job.id).state is JobState.QUEUED
    assert emulator.get("/_emulator/stats").json()["submissions"]["requests"] == 0
    window_moved = now + timedelta(seconds=DAILY_WINDOW_S - 3600 + 1)
    through = submit_job(ctx, job.id, window_moved)
    assert isinstance(through, Then) and through.step is Step.POLL, through
    assert ctx.ledger.require(job.id).state is JobState.SUBMITTED
