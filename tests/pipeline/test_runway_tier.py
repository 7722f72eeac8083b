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
from jobs import redis_keys
from jobs.ledger import Ledger
from jobs.limits.tiers import DAILY_WINDOW_S, TierStore
from jobs.states import JobState
from pipeline.context import Context
from pipeline.decisions import Decision, Done, Step, Then
from pipeline.routing.tier_reading import learn_tiers
from pipeline.submitting import submit_job
from tasks.messages import dispatch_jobs
from tests.pipeline.conftest import make_job, states_of, unique_batch

RUNWAY = ProviderName.RUNWAY
KID = key_id(SecretStr(dev_key(RUNWAY)))


@pytest.fixture
def forget_tier(worker_settings: Settings) -> Iterator[None]:
    """The tier, daily count and circuit this test makes Redis hold are gone afterwards."""
    yield
    client = redis.Redis.from_url(worker_settings.redis_url)
    client.delete(
        redis_keys.limiter("tier", RUNWAY.value, KID),
        redis_keys.limiter("daily", RUNWAY.value, KID),
        redis_keys.breaker(RUNWAY.value, KID),
    )


def test_a_tier_of_concurrency_3_makes_restyles_peak_3_without_a_catalogue_value(
    services: Stack,
    worker_env: dict[str, str],
    worker_settings: Settings,
    ledger: Ledger,
    celery_app,
    source_url: str,
    emulator: httpx.Client,
    forget_tier: None,
) -> None:
    assert "RESTYLE_RUNWAY__CONCURRENCY" not in worker_env  # the catalogue's guess is 2
    emulator.post("/_emulator/keys", json={"key": dev_key(RUNWAY), "concurrency": 3})
    emulator.post("/_emulator/config", json={"processing": {"min_s": 1.0, "max_s": 1.5}})
    services.start_worker(concurrency=6, name="tier", env=worker_env)  # reads the tier at start
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


def decided(ctx: Context, job_id: str, now: datetime) -> Decision:
    """The submit step's decision, past refusals of the key's request rate (real time)."""
    while True:
        decision = submit_job(ctx, job_id, now)
        if not (isinstance(decision, Then) and decision.reason == "limiter: rate"):
            return decision
        time.sleep(decision.countdown_s)


def test_with_a_daily_cap_of_10_fifteen_jobs_give_10_sent_and_5_parked_until_the_window_moves(
    settings: Settings, emulator: httpx.Client, source_url: str, forget_tier: None
) -> None:
    # The emulator's window is 3 s of its own time; restyle's moves with the `now` it is given.
    emulator.post("/_emulator/keys", json={"key": dev_key(RUNWAY), "concurrency": 20})
    knobs = {"providers": {"runway": {"daily_generations": 10, "daily_window_s": 3}}}
    emulator.post("/_emulator/config", json=knobs).raise_for_status()
    ctx = Context.from_settings(settings)
    learned = learn_tiers(settings, ctx.redis)
    tier = learned[(RUNWAY.value, KID)]
    assert (tier.concurrency, tier.daily_generations, tier.used_today) == (20, 10, 0)
    batch = unique_batch("daily")
    jobs = [make_job(settings, batch, f"c{n:02d}", RUNWAY, source_url) for n in range(15)]
    ctx.ledger.add(jobs)
    now = datetime.now(UTC)

    first = [decided(ctx, job.id, now) for job in jobs]

    sent = [job for job, step in zip(jobs, first, strict=True) if isinstance(step, Then)]
    parked = [job for job, step in zip(jobs, first, strict=True) if isinstance(step, Done)]
    assert (len(sent), len(parked)) == (10, 5), first
    assert all("daily cap of 10" in step.reason for step in first if isinstance(step, Done))
    assert {ctx.ledger.require(job.id).state for job in parked} == {JobState.QUEUED}
    frees_at = now.timestamp() + DAILY_WINDOW_S  # when the first generation leaves the window
    assert ctx.redis.zscore(redis_keys.watch(), parked[0].id) == pytest.approx(frees_at, abs=5.0)
    stats = emulator.get("/_emulator/stats").json()
    assert (stats["submissions"]["paid_total"], stats["rate_limited_total"]) == (10, 0)

    time.sleep(3.1)  # the emulator's window moves too
    moved = now + timedelta(seconds=DAILY_WINDOW_S + 60)
    later = [decided(ctx, job.id, moved) for job in parked]

    assert all(isinstance(step, Then) and step.step is Step.POLL for step in later), later
    assert {ctx.ledger.require(job.id).state for job in jobs} == {JobState.SUBMITTED}
    assert emulator.get("/_emulator/stats").json()["submissions"]["paid_total"] == 15


def test_runways_own_daily_cap_refusal_opens_the_keys_circuit_without_a_cooldown(
    settings: Settings,
    emulator: httpx.Client,
    source_url: str,
    forget_tier: None,
    redis_client: redis.Redis[bytes],  # emptied: the module's other tests leave slots held
) -> None:
    # restyle knows no cap (no tier read, none in the catalogue); Runway's 429 tells it.
    knobs = {"providers": {"runway": {"daily_generations": 1}}}
    emulator.post("/_emulator/config", json=knobs).raise_for_status()
    ctx = Context.from_settings(settings)
    batch = unique_batch("refused")
    first, second = (make_job(settings, batch, f"c{n}", RUNWAY, source_url) for n in range(2))
    ctx.ledger.add([first, second])
    now = datetime.now(UTC)
    paid = emulator.get("/_emulator/stats").json()["submissions"]["paid_total"]
    assert isinstance(decided(ctx, first.id, now), Then)

    refused = decided(ctx, second.id, now)

    # No limiter cooldown: that would hold the key's polls too.
    assert isinstance(refused, Then) and refused.step is Step.SUBMIT, refused
    assert ctx.limiter.snapshot(RUNWAY, KID, ctx.limits(RUNWAY, KID))["cooldown_remaining"] == 0
    # The key's submits stop for the hour the breaker gives a daily cap (Runway never says when
    # its rolling window frees), and the job waits on that circuit instead of re-sending.
    circuit = ctx.breakers.get(RUNWAY.value, KID)
    assert circuit.reason.startswith("daily_cap"), circuit
    assert circuit.until == pytest.approx(time.time() + 3600, abs=30)
    waiting = decided(ctx, second.id, now + timedelta(seconds=refused.countdown_s + 1))
    assert isinstance(waiting, Then) and "daily_cap" in waiting.reason, waiting
    assert ctx.ledger.require(second.id).state is JobState.RETRY_WAIT
    assert emulator.get("/_emulator/stats").json()["submissions"]["paid_total"] == paid + 1
