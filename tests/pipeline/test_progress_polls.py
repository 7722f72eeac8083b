"""A remote job that reports progress is polled just after the end its progress predicts.

The steps run in this process (no worker) against the emulator, Redis and S3, with real clocks.
"""

from __future__ import annotations

import time
from datetime import datetime

import httpx
import pytest

from config.settings import ProviderName, Settings
from devstack import Stack
from emulator.client import EmulatorAdmin
from jobs.ledger import Ledger
from jobs.states import JobState
from pipeline.context import Context, utcnow
from pipeline.decisions import Decision, Step, Then
from pipeline.polling import poll_job
from pipeline.submitting import submit_job
from tests.pipeline.conftest import FAST_ENV, make_job, unique_batch

REMOTE_S = 6.0
TYPICAL_S = 60.0


@pytest.fixture(scope="module")
def worker_env() -> dict[str, str]:
    """A typical time far above the job's, so only progress can bring the next poll forward."""
    return {
        **FAST_ENV,
        "RESTYLE_POLL_MAX_INTERVAL_S": "30",
        "RESTYLE_RUNWAY__TYPICAL_DURATION_S": str(TYPICAL_S),
        "RESTYLE_SEGMIND__TYPICAL_DURATION_S": str(TYPICAL_S),
    }


def planned_poll(decision: Decision, now: datetime) -> float:
    """When (epoch seconds) ``decision`` asks for the next poll."""
    assert isinstance(decision, Then) and decision.step is Step.POLL, decision
    return now.timestamp() + decision.countdown_s


def remote_end(emulator: httpx.Client) -> float:
    """When (epoch seconds) the emulator's only remote job ends."""
    (remote,) = emulator.get("/_emulator/jobs").json()["jobs"]
    return float(remote["created_at"] + remote["duration_s"])


def first_poll(
    settings: Settings, ledger: Ledger, emulator: httpx.Client, provider: ProviderName, url: str
) -> tuple[Context, str, datetime, float]:
    """Submit a job of `REMOTE_S` seconds, poll it half-way; (context, id, when, next poll at)."""
    EmulatorAdmin(emulator).configure(processing={"min_s": REMOTE_S, "max_s": REMOTE_S})
    ctx = Context.from_settings(settings)
    job = make_job(settings, unique_batch("progress"), "only", provider, url)
    ledger.add([job])
    submitted = submit_job(ctx, job.id, utcnow())
    assert isinstance(submitted, Then) and submitted.step is Step.POLL, submitted
    time.sleep(REMOTE_S / 2)
    now = utcnow()
    return ctx, job.id, now, planned_poll(poll_job(ctx, job.id, now), now)


def test_a_runway_job_is_polled_just_after_its_predicted_end_and_seen_done(
    services: Stack,
    worker_settings: Settings,
    ledger: Ledger,
    source_url: str,
    emulator: httpx.Client,
) -> None:
    ctx, job_id, now, at = first_poll(
        worker_settings, ledger, emulator, ProviderName.RUNWAY, source_url
    )
    running = ledger.get(job_id)
    assert running is not None and running.progress is not None and running.progress_at == now
    end = remote_end(emulator)
    assert end <= at <= end + 0.1 * REMOTE_S, (at - end, running.progress)

    time.sleep(max(0.0, at - time.time()))
    final = poll_job(ctx, job_id, utcnow())
    assert isinstance(final, Then) and final.step is Step.ARCHIVE, final
    done = ledger.get(job_id)
    assert done is not None and (done.state, done.polls) == (JobState.SUCCEEDED, 2)


def test_without_progress_the_schedule_does_not_guess_an_end(
    services: Stack,
    worker_settings: Settings,
    ledger: Ledger,
    source_url: str,
    emulator: httpx.Client,
) -> None:
    _, job_id, _, at = first_poll(
        worker_settings, ledger, emulator, ProviderName.SEGMIND, source_url
    )
    running = ledger.get(job_id)
    assert running is not None and running.progress is None
    # Segmind says only PROCESSING: the next poll follows the schedule (the first poll aims at
    # 35% of the typical time), far past this job's end.
    assert at - remote_end(emulator) > REMOTE_S
