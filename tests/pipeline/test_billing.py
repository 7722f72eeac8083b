"""Billed spend: real workers, the providers' own bills, and the emulator's ledger of charges."""

from __future__ import annotations

import httpx
import pytest

from config.settings import ProviderName, Settings
from devstack import Stack
from jobs.budget import Budget
from jobs.ledger import Ledger
from jobs.states import JobState
from tests.pipeline.conftest import make_job, run_to_end, unique_batch


def charges(emulator: httpx.Client) -> dict[str, float]:
    found: dict[str, float] = emulator.get("/_emulator/stats").json()["charges_usd"]
    return found


@pytest.mark.slow
def test_billed_spend_equals_the_emulators_charges_and_a_refund_is_free(
    pipeline_stack: Stack,
    worker_settings: Settings,
    ledger: Ledger,
    celery_app,
    source_url: str,
    emulator: httpx.Client,
) -> None:
    batch = unique_batch("billed")
    before = charges(emulator)
    runway = ProviderName.RUNWAY
    jobs = [
        make_job(worker_settings, batch, "a", runway, source_url),
        make_job(worker_settings, batch, "b", runway, source_url),
        make_job(worker_settings, batch, "refunded", runway, source_url, "a forbidden edit"),
    ]
    done = {job.item: job for job in run_to_end(ledger, celery_app, jobs, 120)}
    assert done["refunded"].state is JobState.FAILED
    assert done["refunded"].billed_cost_usd == 0.0
    assert {done[item].state for item in "ab"} == {JobState.STORED}
    for item in "ab":
        job = done[item]
        assert job.provider_estimate_usd == 8.40  # the most a 30 s aleph2 task may charge
        assert job.billed_cost_usd is not None and 0 < job.billed_cost_usd < 8.40
        assert any("billed $" in event.detail for event in job.events)
    after = charges(emulator)
    charged = round(after.get("runway", 0.0) - before.get("runway", 0.0), 6)
    money = Budget(ledger.client).status(batch)
    billed = round(sum(job.billed_cost_usd or 0.0 for job in done.values()), 6)
    assert money.billed_usd == pytest.approx(charged, abs=0.005) and billed == pytest.approx(
        charged
    )
    # Every job has its bill, so nothing is left estimated: the refund took its estimate back.
    assert money.spent_usd == pytest.approx(charged, abs=0.005)
    assert money.estimated_usd == pytest.approx(0.0, abs=0.005)
