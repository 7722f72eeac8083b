"""Jobs over all five providers go submit -> poll -> archive and end STORED, verified in S3."""

from __future__ import annotations

import hashlib
import io

import av
import httpx

from config.settings import ProviderName, Settings
from devstack import Stack
from jobs.ledger import Ledger
from jobs.states import JobState
from tests.pipeline.conftest import make_job, run_to_end, unique_batch


def test_fifty_jobs_over_all_providers_end_stored_with_verified_objects(
    pipeline_stack: Stack,
    worker_settings: Settings,
    ledger: Ledger,
    s3,
    celery_app,
    source_url: str,
    emulator: httpx.Client,
) -> None:
    batch = unique_batch("e2e")
    providers = list(ProviderName)
    jobs = [
        make_job(worker_settings, batch, f"clip-{n:02d}", providers[n % 5], source_url)
        for n in range(50)
    ]
    finished = run_to_end(ledger, celery_app, jobs, 240)
    assert {job.state for job in finished} == {JobState.STORED}, [
        (job.id, job.state, job.failure_message) for job in finished if job.state != JobState.STORED
    ]
    for job in finished:
        assert job.output is not None
        head = s3.head_object(Bucket=job.output.bucket, Key=job.output.key)
        assert job.output.key == f"{worker_settings.s3_prefix}/{batch}/{job.item}.mp4"
        assert head["ContentLength"] == job.output.size
        assert head["Metadata"]["job-id"] == job.id
        assert head["Metadata"]["provider"] == job.provider.value
        assert head["Metadata"]["remote-id"] == job.remote_id
        body = s3.get_object(Bucket=job.output.bucket, Key=job.output.key)["Body"].read()
        assert hashlib.sha256(body).hexdigest() == job.output.sha256
        with av.open(io.BytesIO(body), mode="r") as container:
            assert container.streams.video and next(container.decode(video=0)) is not None

    stats = emulator.get("/_emulator/stats").json()
    paid = stats["submissions"]["by_idempotency_key"]
    for job in finished:
        assert paid.get(job.client_request_id) == 1, job.id


def test_an_s3_source_is_signed_afresh_at_submit_so_a_stale_planned_url_does_no_harm(
    pipeline_stack: Stack,
    worker_settings: Settings,
    ledger: Ledger,
    celery_app,
    source_object: str,
    emulator: httpx.Client,
) -> None:
    stale = "http://127.0.0.1:9/expired-presigned-url.mp4"
    job = make_job(worker_settings, unique_batch("fresh"), "late", ProviderName.SEGMIND, stale)
    job = job.model_copy(update={"source": source_object})
    (stored,) = run_to_end(ledger, celery_app, [job], 60)
    assert stored.state is JobState.STORED
