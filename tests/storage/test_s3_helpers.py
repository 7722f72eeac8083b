"""The S3 client from settings, bucket creation, presigned GETs and local uploads, on moto."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config

from config.settings import Settings
from devstack import Service, free_port
from devstack.byteserver import generated
from storage.errors import S3Refused, S3Unavailable
from storage.presign import presign_get
from storage.s3 import ensure_bucket, head_object, s3_client
from storage.upload import upload_file

MIB = 1024 * 1024


def write_file(path: Path, size: int) -> Path:
    with path.open("wb") as handle:
        for chunk in generated(size, seed=3):
            handle.write(chunk)
    return path


def test_presigned_url_serves_the_object_without_credentials(s3: Any, s3_bucket: str) -> None:
    s3.put_object(Bucket=s3_bucket, Key="src/a.mp4", Body=b"video bytes")
    url = presign_get(s3, s3_bucket, "src/a.mp4", ttl_s=600)
    assert "X-Amz-Signature=" in url
    answer = httpx.get(url)
    assert answer.status_code == 200
    assert answer.content == b"video bytes"


@pytest.mark.parametrize("ttl_s", [0, 7 * 24 * 3600 + 1])
def test_presign_refuses_a_ttl_sigv4_cannot_sign(s3: Any, s3_bucket: str, ttl_s: int) -> None:
    with pytest.raises(ValueError, match="ttl_s"):
        presign_get(s3, s3_bucket, "k", ttl_s=ttl_s)


def test_client_uses_credentials_from_settings(s3_server: Service) -> None:
    settings = Settings(
        s3_endpoint_url=s3_server.url,
        s3_access_key_id="AKIDFROMSETTINGS",
        s3_secret_access_key="not-printed",
    )
    url = presign_get(s3_client(settings), "bucket", "key", ttl_s=60)
    assert "X-Amz-Credential=AKIDFROMSETTINGS%2F" in url
    assert "not-printed" not in url


def test_ensure_bucket_creates_a_missing_bucket_once(s3_server: Service) -> None:
    client = s3_client(Settings(s3_endpoint_url=s3_server.url, s3_region="eu-west-1"))
    bucket = f"made-{uuid.uuid4().hex[:12]}"
    ensure_bucket(client, bucket)
    ensure_bucket(client, bucket)
    assert client.get_bucket_location(Bucket=bucket)["LocationConstraint"] == "eu-west-1"


def test_small_file_upload_records_size_and_sha256(s3: Any, s3_bucket: str, tmp_path: Path) -> None:
    path = write_file(tmp_path / "clip.mp4", 300_000)
    stored = upload_file(s3, path, s3_bucket, "staging/x/clip.mp4", metadata={"origin": "local"})
    assert stored.size == 300_000
    assert stored.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    head = head_object(s3, s3_bucket, "staging/x/clip.mp4")
    assert (head.size, head.content_type, head.metadata) == (
        300_000,
        "video/mp4",
        {"origin": "local"},
    )


def test_large_file_upload_goes_in_parts(s3: Any, s3_bucket: str, tmp_path: Path) -> None:
    path = write_file(tmp_path / "big.mov", 11 * MIB)
    stored = upload_file(
        s3, path, s3_bucket, "staging/y/big.mov", "video/quicktime", part_bytes=5 * MIB
    )
    assert stored.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    head = head_object(s3, s3_bucket, "staging/y/big.mov")
    assert head.etag.endswith("-3")
    assert head.content_type == "video/quicktime"
    body = s3.get_object(Bucket=s3_bucket, Key="staging/y/big.mov")["Body"].read()
    assert hashlib.sha256(body).hexdigest() == stored.sha256


def test_head_of_a_missing_object_is_refused(s3: Any, s3_bucket: str) -> None:
    with pytest.raises(S3Refused, match="404"):
        head_object(s3, s3_bucket, "nothing/here.mp4")


def test_unreachable_s3_is_unavailable_and_retryable() -> None:
    client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        region_name="us-east-1",
        config=Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=1),
    )
    with pytest.raises(S3Unavailable, match="Could not connect") as caught:
        head_object(client, "bucket", "key")
    assert caught.value.retryable
