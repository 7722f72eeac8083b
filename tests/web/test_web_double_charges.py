"""A lost POST's own callback confirms its double charge (real worker, real emulator callbacks
to a real ``restyle web``): the re-send keeps the lost try's callback URL alive. OpenRouter's
signed webhook carries the bill; crun's unsigned callback is checked with crun itself."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import redis

from cli.jobs import double_charge_text
from config.settings import ProviderName, Settings
from devstack import Stack, free_port
from emulator.config import DEV_WEBHOOK_SECRET
from jobs.budget import Budget
from jobs.ledger import Ledger
from jobs.models import Job
from jobs.states import JobState
from pipeline.double_charges import CONFIRMED
from tasks.messages import dispatch_jobs
from tests.pipeline.conftest import FAST_ENV, make_job, unique_batch, wait_until

from .conftest import Served, serve, web_settings


@pytest.fixture(scope="module")
def web_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def worker_env(web_port: int) -> dict[str, str]:
    """Workers that give OpenRouter a callback URL on the test's web server, and re-send a lost
    POST after 1.5 s without its callback."""
    return {**FAST_ENV, "RESTYLE_PUBLIC_URL": f"http://127.0.0.1:{web_port}",
            "RESTYLE_OPENROUTER_WEBHOOK_SECRET": DEV_WEBHOOK_SECRET,
            "RESTYLE_CRUN_CALLBACK_GRACE_S": "1.5"}  # fmt: skip


@pytest.fixture
def ledger(worker_settings: Settings) -> Ledger:
    return Ledger(redis.Redis.from_url(worker_settings.redis_url))


@pytest.fixture
def web(pipeline_stack: Stack, worker_settings: Settings, web_port: int) -> Iterator[Served]:
    settings = web_settings(worker_settings).model_copy(
        update={"public_url": worker_settings.public_url}
    )
    yield from serve(settings, real_publishers=True, port=web_port)


def _lose_the_first_answer(
    emulator: httpx.Client, ledger: Ledger, celery_app, job: Job, provider: str
) -> None:
    """The first POST creates a 6 s job, then its answer is broken; the re-send goes 1.5 to 4 s
    later (the callback grace, then backoff), before that job's callback, so the job runs on a
    second remote job."""
    knobs = {"processing": {"min_s": 6.0, "max_s": 6.0}, "faults": {"malformed": 1.0}}
    emulator.post("/_emulator/config", json={"providers": {provider: knobs}}).raise_for_status()
    assert ledger.add([job]) == [True]
    dispatch_jobs(celery_app, [job])
    wait_until(lambda: ledger.require(job.id).answer_lost, 30, lambda: str(ledger.require(job.id)))
    clean = {"providers": {provider: {"faults": {"malformed": 0.0}}}}
    emulator.post("/_emulator/config", json=clean).raise_for_status()

    def settled() -> bool:
        found = ledger.require(job.id)
        return found.state is JobState.STORED and bool(found.extra_remote_ids)

    wait_until(settled, 60, lambda: str(ledger.require(job.id)))


def test_the_lost_posts_webhook_on_its_own_url_confirms_the_double_charge_at_its_bill(
    web: Served,
    worker_settings: Settings,
    ledger: Ledger,
    celery_app,
    source_url: str,
    emulator: httpx.Client,
) -> None:
    batch = unique_batch("or-twice")
    job = make_job(worker_settings, batch, "clip", ProviderName.OPENROUTER, source_url)
    _lose_the_first_answer(emulator, ledger, celery_app, job, "openrouter")

    ended = ledger.require(job.id)
    charged = emulator.get("/_emulator/stats").json()["charges_usd"]["openrouter"]
    assert (ended.possible_double_charges, ended.double_charges_confirmed) == (0, 1)
    assert ended.extra_remote_ids[0] != ended.remote_id
    # Both videos' usage.cost is in the job's bill and the batch's spend, to the cent.
    assert ended.billed_cost_usd == pytest.approx(charged, abs=0.005)
    assert ended.double_charge_billed_usd == pytest.approx(charged / 2, abs=0.005)
    money = Budget(ledger.client).status(batch)
    assert (money.spent_usd, money.billed_usd) == pytest.approx((charged, charged), abs=0.005)
    assert any(event.detail.startswith(CONFIRMED) for event in ended.events)


def test_a_lost_crun_posts_callback_confirmed_by_crun_itself_confirms_it_at_the_estimate(
    web: Served,
    worker_settings: Settings,
    ledger: Ledger,
    celery_app,
    source_url: str,
    emulator: httpx.Client,
) -> None:
    batch = unique_batch("crun-twice")
    job = make_job(worker_settings, batch, "clip", ProviderName.CRUN, source_url)
    _lose_the_first_answer(emulator, ledger, celery_app, job, "crun")

    ended = ledger.require(job.id)
    paid = emulator.get("/_emulator/stats").json()["submissions"]["by_idempotency_key"]
    assert paid == {f"{job.id}.1": 2}  # crun made two tasks of the one try
    assert (ended.possible_double_charges, ended.double_charges_confirmed) == (0, 1)
    assert ended.extra_remote_ids[0] != ended.remote_id
    # crun bills in credits of no documented price: both tasks stay at the estimate.
    assert ended.billed_cost_usd is None
    money = Budget(ledger.client).status(batch)
    assert money.spent_usd == pytest.approx(2 * job.estimated_cost_usd)
    assert double_charge_text(ended).startswith("confirmed: paid twice")
