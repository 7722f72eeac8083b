"""copy_url_to_s3 against a real HTTP server and moto's S3 server."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devstack import free_port
from devstack.byteserver import ByteServer, generated_sha256
from storage.errors import (
    DeadlinePassed,
    IncompleteDownload,
    S3Refused,
    SourceGone,
    SourceUnavailable,
)
from storage.objects import StoredObject
from storage.s3 import head_object

MIB = 1024 * 1024
KEY = "outputs/batch/item.mp4"
Archive = Callable[..., StoredObject]


def stored_sha256(s3: Any, bucket: str, key: str) -> str:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return hashlib.sha256(body).hexdigest()


def keys_in(s3: Any, bucket: str) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def open_uploads(s3: Any, bucket: str) -> list[Any]:
    return list(s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []))


def test_small_output_is_stored_with_one_put(
    archive: Archive, source: ByteServer, s3: Any, s3_bucket: str
) -> None:
    stored = archive(f"{source.url}/bytes/100000")
    assert stored == StoredObject(
        bucket=s3_bucket,
        key=KEY,
        size=100_000,
        sha256=generated_sha256(100_000),
        content_type="video/mp4",
    )
    head = head_object(s3, s3_bucket, KEY)
    assert head.size == 100_000
    assert "-" not in head.etag
    assert stored_sha256(s3, s3_bucket, KEY) == stored.sha256


def test_large_output_is_stored_in_parts_that_keep_their_order(
    archive: Archive, source: ByteServer, s3: Any, s3_bucket: str
) -> None:
    size = 12 * MIB + 12345
    stored = archive(f"{source.url}/bytes/{size}")
    head = head_object(s3, s3_bucket, KEY)
    assert head.etag.endswith("-3")
    assert (stored.size, head.size) == (size, size)
    assert stored.sha256 == generated_sha256(size)
    assert stored_sha256(s3, s3_bucket, KEY) == stored.sha256
    assert open_uploads(s3, s3_bucket) == []


def test_output_of_exactly_one_part_is_a_single_put(
    archive: Archive, source: ByteServer, s3: Any, s3_bucket: str
) -> None:
    stored = archive(f"{source.url}/bytes/{5 * MIB}")
    assert stored.size == 5 * MIB
    assert "-" not in head_object(s3, s3_bucket, KEY).etag


def test_object_carries_exactly_the_given_metadata_and_the_source_content_type(
    archive: Archive, source: ByteServer, s3: Any, s3_bucket: str
) -> None:
    metadata = {"job-id": "j7", "batch": "b", "provider": "segmind", "remote-id": "r-9"}
    stored = archive(f"{source.url}/bytes/6000?type=video/quicktime", metadata=metadata)
    head = head_object(s3, s3_bucket, KEY)
    assert head.metadata == metadata
    assert head.content_type == stored.content_type == "video/quicktime"


@pytest.mark.parametrize("knob", ["type=none", "type=application/octet-stream"])
def test_content_type_defaults_to_mp4_when_the_source_gives_none_or_a_generic_one(
    archive: Archive, source: ByteServer, s3: Any, s3_bucket: str, knob: str
) -> None:
    stored = archive(f"{source.url}/bytes/6000?{knob}")
    assert stored.content_type == "video/mp4"
    assert head_object(s3, s3_bucket, KEY).content_type == "video/mp4"


def test_repeated_copy_overwrites_the_same_object(
    archive: Archive, source: ByteServer, s3: Any, s3_bucket: str
) -> None:
    archive(f"{source.url}/bytes/{6 * MIB}")
    second = archive(f"{source.url}/bytes/7000")
    assert keys_in(s3, s3_bucket) == [KEY]
    assert head_object(s3, s3_bucket, KEY).size == second.size == 7000


def test_body_without_content_length_is_stored_whole(
    archive: Archive, source: ByteServer, s3: Any, s3_bucket: str
) -> None:
    size = 6 * MIB + 1
    stored = archive(f"{source.url}/bytes/{size}?no_length=1")
    assert stored.size == head_object(s3, s3_bucket, KEY).size == size
    assert stored.sha256 == generated_sha256(size)


def test_connection_dropped_mid_body_aborts_the_multipart_upload(
    archive: Archive, source: ByteServer, s3: Any, s3_bucket: str
) -> None:
    with pytest.raises(IncompleteDownload, match="cut short"):
        archive(f"{source.url}/bytes/{14 * MIB}?drop_after={11 * MIB}")
    assert open_uploads(s3, s3_bucket) == []
    assert keys_in(s3, s3_bucket) == []


def test_short_single_part_body_is_never_stored(
    archive: Archive, source: ByteServer, s3: Any, s3_bucket: str
) -> None:
    with pytest.raises(IncompleteDownload):
        archive(f"{source.url}/bytes/100000?drop_after=5000")
    assert keys_in(s3, s3_bucket) == []


def test_empty_body_is_an_incomplete_download(
    archive: Archive, source: ByteServer, s3: Any, s3_bucket: str
) -> None:
    with pytest.raises(IncompleteDownload, match="empty"):
        archive(f"{source.url}/bytes/0")
    assert keys_in(s3, s3_bucket) == []


@pytest.mark.parametrize("status", [401, 403, 404, 410])
def test_output_url_that_is_gone_raises_source_gone(
    archive: Archive, source: ByteServer, status: int
) -> None:
    with pytest.raises(SourceGone, match=f"HTTP {status}") as caught:
        archive(f"{source.url}/bytes/10?status={status}")
    assert not caught.value.retryable


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_output_url_failing_for_now_raises_source_unavailable_with_retry_after(
    archive: Archive, source: ByteServer, status: int
) -> None:
    with pytest.raises(SourceUnavailable) as caught:
        archive(f"{source.url}/bytes/10?status={status}&retry_after=7")
    assert caught.value.retryable
    assert caught.value.retry_after == 7.0


def test_unreachable_output_url_raises_source_unavailable(archive: Archive) -> None:
    with pytest.raises(SourceUnavailable, match="ConnectError"):
        archive(f"http://127.0.0.1:{free_port()}/out.mp4")


def test_error_messages_never_carry_the_url_query(archive: Archive, source: ByteServer) -> None:
    with pytest.raises(SourceGone) as caught:
        archive(f"{source.url}/bytes/10?status=403&X-Amz-Signature=topsecret&token=jwt.secret")
    assert "secret" not in str(caught.value)
    assert f"{source.url}/bytes/10" in str(caught.value)


def test_deadline_already_passed_raises_before_any_request(
    archive: Archive, source: ByteServer
) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    with pytest.raises(DeadlinePassed) as caught:
        archive(f"{source.url}/bytes/1000", deadline=past)
    assert not caught.value.retryable
    assert source.served.requests == []


class SteppingClock:
    """A clock that moves a minute forward each time it is read."""

    def __init__(self) -> None:
        self.at = datetime(2025, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.at += timedelta(minutes=1)
        return self.at


def test_deadline_passing_between_parts_aborts_the_upload(
    archive: Archive, source: ByteServer, s3: Any, s3_bucket: str
) -> None:
    clock = SteppingClock()
    deadline = clock.at + timedelta(minutes=4, seconds=30)
    with pytest.raises(DeadlinePassed, match="expired"):
        archive(f"{source.url}/bytes/{30 * MIB}", deadline=deadline, now=clock)
    assert open_uploads(s3, s3_bucket) == []
    assert keys_in(s3, s3_bucket) == []
    assert source.served.bytes_sent < 30 * MIB


def test_missing_bucket_raises_s3_refused(archive: Archive, source: ByteServer) -> None:
    with pytest.raises(S3Refused, match="NoSuchBucket") as caught:
        archive(f"{source.url}/bytes/1000", bucket="no-such-bucket-here")
    assert not caught.value.retryable


def test_part_size_below_the_s3_minimum_is_refused(archive: Archive, source: ByteServer) -> None:
    with pytest.raises(ValueError, match="part_bytes"):
        archive(f"{source.url}/bytes/1000", part_bytes=MIB)
