"""Two re-sends of one stranded job racing in real workers: exactly one POST is made."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from config.settings import ProviderName, Settings, key_id
from devstack import Stack
from jobs.ledger import Ledger
from jobs.states import JobState
from tasks.messages import dispatch_jobs
from tests.pipeline.conftest import make_job, unique_batch, wait_until


def test_two_concurrent_re_sends_of_a_stranded_job_make_one_post(
    pipeline_stack: Stack,
    worker_settings: Settings,
    ledger: Ledger,
    celery_app,
    source_url: str,
    emulator: httpx.Client,
) -> None:
    # No provider documents honouring Idempotency-Key: every POST here would be paid.
    emulator.post("/_emulator/config", json={"honour_idempotency_key": False}).raise_for_status()
    provider = ProviderName.SEGMIND
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    job = make_job(worker_settings, unique_batch("race"), "clip", provider, source_url)
    stranded = job.model_copy(
        update={
            "state": JobState.SUBMITTING,
            "attempt": 1,
            "key_id": key_id(worker_settings.provider(provider).api_keys[0]),
            "client_request_id": f"{job.id}.1",
            "updated_at": long_ago,
        }
    )
    assert ledger.add([stranded]) == [True]

    dispatch_jobs(celery_app, [stranded, stranded])

    wait_until(
        lambda: ledger.require(job.id).state.terminal,
        60,
        lambda: str(ledger.require(job.id).state),
    )
    stats = emulator.get("/_emulator/stats").json()
    posts = stats["submissions"]["requests_by_idempotency_key"]
    finished = ledger.require(job.id)
    assert finished.state is JobState.STORED
    assert posts == {f"{job.id}.1": 1}
    assert finished.attempt == 2
