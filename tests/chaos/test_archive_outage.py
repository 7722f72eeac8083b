"""An archive that finds S3 unreachable (even before its bucket exists) retries; it never
strands the job in ARCHIVING, and the copy succeeds once S3 is back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import redis

from config.settings import ProviderName, Settings
from devstack import Service
from devstack.proxy import TcpProxy
from jobs.models import Job, job_id_for
from jobs.request import EditRequest
from jobs.states import JobState
from media.samples import make_clip_bytes
from pipeline.archiving import archive_job
from pipeline.context import Context
from pipeline.decisions import Done, Step, Then
from storage.errors import S3Unavailable
from storage.s3 import ensure_bucket, s3_client

pytestmark = pytest.mark.slow


@pytest.fixture
def proxy(s3_server: Service) -> Iterator[TcpProxy]:
    with TcpProxy(s3_server.port) as running:
        yield running


@pytest.fixture
def behind_proxy(settings: Settings, proxy: TcpProxy) -> Settings:
    """Settings whose S3 is reached through the proxy, with a bucket that does not exist yet."""
    bucket = f"outage-{uuid.uuid4().hex[:8]}"
    update = {"s3_endpoint_url": proxy.url, "s3_bucket": bucket, "s3_create_bucket": True}
    return settings.model_copy(update=update)


OUTPUT = make_clip_bytes(seconds=0.5)


def output_url(settings: Settings) -> str:
    """A real object served straight by moto (not through the proxy), like a provider's URL."""
    client = boto3.client("s3", endpoint_url=settings.s3_endpoint_url, region_name="us-east-1")
    # A real video: the archive stores nothing else (storage.archive probes every output).
    client.put_object(Bucket=settings.s3_bucket, Key="output.mp4", Body=OUTPUT)
    params = {"Bucket": settings.s3_bucket, "Key": "output.mp4"}
    return client.generate_presigned_url("get_object", Params=params, ExpiresIn=3600)


def succeeded_job(url: str, now: datetime) -> Job:
    return Job(
        id=job_id_for("outage", "clip"),
        batch="outage",
        item="clip",
        provider=ProviderName.CRUN,
        request=EditRequest(video_url="https://example.com/in.mp4", prompt="winter"),
        state=JobState.SUCCEEDED,
        key_id="k",
        remote_id="remote-1",
        output_urls=(url,),
        expires_at=now + timedelta(hours=1),
        created_at=now,
        updated_at=now,
    )


def test_creating_a_bucket_while_s3_is_unreachable_raises_s3_unavailable(
    behind_proxy: Settings, proxy: TcpProxy
) -> None:
    proxy.down()

    with pytest.raises(S3Unavailable):
        ensure_bucket(s3_client(behind_proxy), behind_proxy.s3_bucket)


def test_an_archive_during_an_s3_outage_retries_and_stores_once_s3_is_back(
    settings: Settings, behind_proxy: Settings, proxy: TcpProxy, redis_client: redis.Redis
) -> None:
    now = datetime.now(UTC)
    ctx = Context.from_settings(behind_proxy)
    job = succeeded_job(output_url(settings), now)
    ctx.ledger.add([job])

    proxy.down()
    during = archive_job(ctx, job.id, now)
    stranded = ctx.ledger.require(job.id)
    proxy.up()
    after = archive_job(ctx, job.id, datetime.now(UTC))

    assert isinstance(during, Then) and during.step is Step.ARCHIVE
    assert stranded.state is JobState.ARCHIVING
    assert isinstance(after, Done)
    stored = ctx.ledger.require(job.id)
    assert stored.state is JobState.STORED and stored.output is not None
    assert stored.output.size == len(OUTPUT)
