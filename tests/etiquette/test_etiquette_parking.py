"""The pipeline steps without Celery: a refused submit parks its job (no message, a long watch),
and the poll that frees the slot hands it to that job in its decision."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
import redis

from config.settings import Settings
from jobs.delays import PARKED_RECHECK
from jobs.limits.limiter import Handover
from jobs.models import Priority
from pipeline.context import Context, utcnow
from pipeline.decisions import Done, Step, Then
from pipeline.polling import poll_job
from pipeline.submitting import submit_job
from tests.etiquette.conftest import KEY_ID, PROVIDER
from tests.pipeline.conftest import make_job, wait_until


@pytest.fixture
def ctx(settings: Settings, emulator: httpx.Client) -> Iterator[Context]:
    """A context whose key runs one job at a time, on a Redis database of its own."""
    url = settings.redis_url.rsplit("/", 1)[0] + "/15"
    redis.Redis.from_url(url).flushdb()
    one_slot = settings.aimlapi.model_copy(update={"concurrency": 1, "typical_duration_s": 0.5})
    yield Context.from_settings(settings.model_copy(update={"redis_url": url, "aimlapi": one_slot}))
    redis.Redis.from_url(url).flushdb()


def test_a_job_refused_a_slot_is_parked_and_handed_the_slot_by_the_poll_that_frees_it(
    ctx: Context, emulator: httpx.Client, source_url: str
) -> None:
    url = source_url
    batch = f"park-{uuid.uuid4().hex[:6]}"
    first, second = (make_job(ctx.settings, batch, f"clip-{n}", PROVIDER, url) for n in (1, 2))
    ctx.ledger.add([first, second])
    now = utcnow()

    assert submit_job(ctx, first.id, now) == Then(Step.POLL, 0.5, "submitted")
    parked = submit_job(ctx, second.id, now)

    assert isinstance(parked, Done) and "parked" in parked.reason
    assert ctx.ledger.overdue(now + timedelta(seconds=PARKED_RECHECK.min_s - 1)) == []
    assert ctx.ledger.overdue(now + timedelta(seconds=PARKED_RECHECK.min_s + 1)) == [second.id]
    wait_until(
        lambda: emulator.get("/_emulator/jobs").json()["jobs"][0]["state"] == "succeeded",
        30,
        lambda: str(emulator.get("/_emulator/jobs").json()),
    )
    freed = poll_job(ctx, first.id, utcnow())
    assert freed.handovers == (Handover(second.id, Priority.BULK),)
    assert isinstance(freed, Done | Then)

    resumed = submit_job(ctx, second.id, utcnow())

    assert isinstance(resumed, Then) and resumed.step is Step.POLL
    stats = emulator.get("/_emulator/stats").json()
    assert stats["peak_concurrent"][PROVIDER.value][KEY_ID] == 1
    assert ctx.limiter.snapshot(PROVIDER, KEY_ID, ctx.limits(PROVIDER))["parked"] == 0
