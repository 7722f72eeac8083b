"""A submit whose answer is lost is re-sent and flagged as possibly paid twice (real workers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from config.settings import ProviderName, Settings
from devstack import Stack
from jobs.ledger import Ledger
from jobs.models import Job
from jobs.request import EditRequest
from jobs.states import JobState
from pipeline.ambiguity import POSSIBLY_PAID_TWICE, callback_wait_s
from tasks.messages import dispatch_jobs
from tests.pipeline.conftest import make_job, unique_batch, wait_until

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def test_a_lost_answer_is_re_sent_and_the_job_flagged_with_the_cost_of_a_second_charge(
    pipeline_stack: Stack,
    worker_settings: Settings,
    ledger: Ledger,
    celery_app,
    source_url: str,
    emulator: httpx.Client,
) -> None:
    # The first POST creates and charges a job, then its answer is broken (an unreadable 2xx).
    faults = {"providers": {"segmind": {"faults": {"malformed": 1.0}}}}
    emulator.post("/_emulator/config", json=faults).raise_for_status()
    job = make_job(worker_settings, unique_batch("lost"), "clip", ProviderName.SEGMIND, source_url)
    assert ledger.add([job]) == [True]
    dispatch_jobs(celery_app, [job])
    wait_until(lambda: ledger.require(job.id).answer_lost, 30, lambda: str(ledger.require(job.id)))
    clean = {"providers": {"segmind": {"faults": {"malformed": 0.0}}}}
    emulator.post("/_emulator/config", json=clean).raise_for_status()

    wait_until(
        lambda: ledger.require(job.id).state.terminal, 60, lambda: str(ledger.require(job.id))
    )

    ended = ledger.require(job.id)
    paid = emulator.get("/_emulator/stats").json()["submissions"]["by_idempotency_key"]
    assert ended.state is JobState.STORED
    assert paid == {f"{job.id}.1": 2}
    assert (ended.possible_double_charges, ended.answer_lost) == (1, False)
    assert any(POSSIBLY_PAID_TWICE in event.detail for event in ended.events)
    assert ended.possible_double_charge_usd == ended.estimated_cost_usd > 0


def waiting(answer_lost: bool = True, remote_id: str | None = None) -> Job:
    return Job(
        id="j",
        batch="b",
        item="i",
        provider=ProviderName.CRUN,
        request=EditRequest(video_url="https://example.com/a.mp4", prompt="p"),
        state=JobState.RETRY_WAIT,
        answer_lost=answer_lost,
        remote_id=remote_id,
        created_at=NOW,
        updated_at=NOW,
    )


def test_a_re_send_waits_out_the_callback_grace_only_where_a_callback_can_announce_the_job() -> (
    None
):
    later = NOW + timedelta(seconds=20)
    assert callback_wait_s(waiting(), later, grace_s=60, announces=True) == 40
    assert callback_wait_s(waiting(), NOW + timedelta(seconds=61), 60, announces=True) is None
    assert callback_wait_s(waiting(), later, grace_s=60, announces=False) is None
    assert callback_wait_s(waiting(answer_lost=False), later, 60, announces=True) is None
