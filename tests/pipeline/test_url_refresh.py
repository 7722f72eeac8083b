"""An output URL that expired before its copy: refreshed and stored on Runway, EXPIRED elsewhere.

The archive step runs in the test process with a given ``now`` against the emulator and moto.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import boto3
import httpx
import pytest

from config.settings import ProviderName, Settings, key_id
from jobs.models import Job
from jobs.request import EditRequest
from jobs.states import JobState
from media.samples import make_clip_bytes
from pipeline.archiving import archive_job
from pipeline.context import Context
from pipeline.decisions import Done, Step, Then
from providers.base import RemoteState, RemoteStatus
from providers.registry import get_adapter


@pytest.fixture
def clip_uri(settings: Settings) -> str:
    """A presigned moto URL of a short clip, typed as Runway requires."""
    s3 = boto3.client("s3", endpoint_url=settings.s3_endpoint_url, region_name="us-east-1")
    clip = make_clip_bytes(seconds=2.5)
    s3.put_object(Bucket=settings.s3_bucket, Key="in/clip.mp4", Body=clip, ContentType="video/mp4")
    params = {"Bucket": settings.s3_bucket, "Key": "in/clip.mp4"}
    url: str = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=600)
    return url


def finished(
    settings: Settings, provider: ProviderName, edit: EditRequest
) -> tuple[str, RemoteStatus]:
    adapter = get_adapter(provider, settings)
    remote = adapter.submit(edit, f"refresh-{provider}.1")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = adapter.poll(remote.remote_id, submitted_at=remote.submitted_at)
        if status.state is RemoteState.SUCCEEDED:
            return remote.remote_id, status
        time.sleep(0.1)
    raise AssertionError("the remote job never finished")


def succeeded_job(settings: Settings, provider: ProviderName, edit: EditRequest) -> Job:
    remote_id, status = finished(settings, provider, edit)
    now = datetime.now(UTC)
    return Job(
        id=f"refresh-{provider}",
        batch="refresh",
        item=provider.value,
        provider=provider,
        request=edit,
        state=JobState.SUCCEEDED,
        key_id=key_id(settings.provider(provider).api_keys[0]),
        remote_id=remote_id,
        output_urls=status.output_urls,
        expires_at=now - timedelta(seconds=1),  # gone before the copy started
        created_at=now,
        updated_at=now,
    )


def test_an_expired_runway_url_is_refreshed_by_re_fetching_the_task_and_stored(
    settings: Settings, emulator: httpx.Client, clip_uri: str
) -> None:
    emulator.post("/_emulator/config", json={"providers": {"runway": {"retention_s": 1}}})
    ctx = Context.from_settings(settings)
    job = succeeded_job(settings, ProviderName.RUNWAY, EditRequest(video_url=clip_uri, prompt="p"))
    time.sleep(1.2)
    assert httpx.get(job.output_urls[0]).status_code != 200  # really expired at the provider
    ctx.ledger.add([job])

    refreshed = archive_job(ctx, job.id, datetime.now(UTC))

    assert isinstance(refreshed, Then) and refreshed.step is Step.ARCHIVE, refreshed
    fresh = ctx.ledger.require(job.id)
    assert fresh.output_urls != job.output_urls and fresh.url_refreshes == 1
    stored = archive_job(ctx, job.id, datetime.now(UTC))
    assert isinstance(stored, Done) and stored.reason == "stored"  # its frames are due too
    assert ctx.ledger.require(job.id).state is JobState.STORED


def test_a_provider_that_cannot_refresh_expires_the_job_with_the_reason(
    settings: Settings, emulator: httpx.Client, clip_uri: str
) -> None:
    ctx = Context.from_settings(settings)
    job = succeeded_job(settings, ProviderName.SEGMIND, EditRequest(video_url=clip_uri, prompt="p"))
    ctx.ledger.add([job])

    assert archive_job(ctx, job.id, datetime.now(UTC)) == Done("expired")

    ended = ctx.ledger.require(job.id)
    assert ended.state is JobState.EXPIRED
    assert "segmind cannot hand out a fresh URL" in (ended.failure_message or "")
