"""Workers SIGKILLed mid-flight: a fresh worker and the reconciler finish every job; a job paid
twice (a worker killed mid-POST) is flagged."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from config.settings import ProviderName, Settings
from devstack import Stack
from jobs.ledger import Ledger
from jobs.models import Job
from jobs.states import JobState
from tasks.messages import dispatch_jobs
from tests.pipeline.conftest import make_job, states_of, unique_batch, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def reconciler(celery_app) -> Iterator[None]:
    """What beat does in production: send `restyle.reconcile` every second."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(1.0):
            celery_app.send_task("restyle.reconcile")

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join()


def _kill_when(stack: Stack, ledger: Ledger, jobs: list[Job], wanted: set[JobState]) -> None:
    """SIGKILL the running worker once every state in ``wanted`` is held by some job."""
    wait_until(
        lambda: wanted <= set(states_of(ledger, jobs).values()),
        120,
        lambda: f"never saw {wanted}: {Counter(states_of(ledger, jobs).values())}",
    )
    stack.workers[-1].kill()


def test_killed_workers_lose_no_job_and_flag_every_second_payment(
    services: Stack,
    worker_env: dict[str, str],
    worker_settings: Settings,
    ledger: Ledger,
    celery_app,
    source_url: str,
    emulator: httpx.Client,
    reconciler: None,
) -> None:
    emulator.post(
        "/_emulator/config",
        json={
            "processing": {"min_s": 1.0, "max_s": 3.0},
            "faults": {"slow": 0.5, "slow_s": 1.0},
            "output_padding_bytes": 24_000_000,
        },
    ).raise_for_status()
    batch = unique_batch("crash")
    providers = [ProviderName.RUNWAY, ProviderName.SEGMIND, ProviderName.CRUN]
    jobs = [
        make_job(worker_settings, batch, f"clip-{n:02d}", providers[n % 3], source_url)
        for n in range(12)
    ]
    ledger.add(jobs)
    services.start_worker(concurrency=3, name="crash1", env=worker_env)
    dispatch_jobs(celery_app, jobs)

    _kill_when(services, ledger, jobs, {JobState.SUBMITTING, JobState.SUBMITTED})
    services.start_worker(concurrency=3, name="crash2", env=worker_env)
    _kill_when(services, ledger, jobs, {JobState.ARCHIVING})
    services.start_worker(concurrency=3, name="crash3", env=worker_env)

    wait_until(
        lambda: all(state is JobState.STORED for state in states_of(ledger, jobs).values()),
        240,
        lambda: str(Counter(states_of(ledger, jobs).values())),
    )
    paid = emulator.get("/_emulator/stats").json()["submissions"]["by_idempotency_key"]
    finished = ledger.get_many([job.id for job in jobs])
    # Idempotency keys are ignored (as every provider documents): a worker killed mid-POST
    # may make its re-send a second payment, and then the job says so.
    extra = {job.id: paid.get(job.client_request_id or "", 0) - 1 for job in finished}
    assert all(count >= 0 for count in extra.values()), extra
    assert {job.id: job.possible_double_charges >= extra[job.id] for job in finished} == {
        job.id: True for job in finished
    }
