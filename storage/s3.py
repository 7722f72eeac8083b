"""The boto3 S3 client built from `Settings`, and the one place that maps botocore's errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
)

from config.settings import Settings
from storage.errors import S3Refused, S3Unavailable, StorageError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MAX_POOL_CONNECTIONS = 16
RETRY_ATTEMPTS = 5
RETRYABLE_CODES = frozenset(
    {"SlowDown", "RequestTimeout", "Throttling", "ThrottlingException", "InternalError"}
)
REFUSAL_ERRORS = (NoCredentialsError, PartialCredentialsError, ParamValidationError)
MISSING_BUCKET = frozenset({"404", "NoSuchBucket", "NotFound"})


@dataclass(frozen=True)
class ObjectHead:
    """What HeadObject says about a stored object."""

    size: int
    content_type: str
    etag: str
    metadata: dict[str, str] = field(default_factory=dict)


def s3_client(settings: Settings) -> S3Client:
    """A thread-safe S3 client for the endpoint, region and credentials in ``settings``."""
    config = Config(
        retries={"mode": "standard", "max_attempts": RETRY_ATTEMPTS},
        connect_timeout=settings.http_connect_timeout_s,
        # S3 may take a while to answer a part upload or a CompleteMultipartUpload of many parts.
        read_timeout=max(settings.http_read_timeout_s, 60.0),
        max_pool_connections=MAX_POOL_CONNECTIONS,
        signature_version="s3v4",
        # Custom endpoints (MinIO, moto) rarely serve virtual-hosted bucket names.
        s3={"addressing_style": "path" if settings.s3_endpoint_url else "auto"},
    )
    credentials: dict[str, Any] = {}
    if settings.s3_access_key_id and settings.s3_secret_access_key:
        credentials = {
            "aws_access_key_id": settings.s3_access_key_id.get_secret_value(),
            "aws_secret_access_key": settings.s3_secret_access_key.get_secret_value(),
        }
    client: S3Client = boto3.session.Session().client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        config=config,
        **credentials,
    )
    return client


def classify(action: str, exc: ClientError) -> StorageError:
    """The `StorageError` for an error answer from S3, by status code and error code."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "Unknown"))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
    message = f"{action}: S3 {code} (HTTP {status}) {error.get('Message', '')}".rstrip()
    if status >= 500 or status in (408, 429) or code in RETRYABLE_CODES:
        return S3Unavailable(message)
    return S3Refused(message)


@contextmanager
def s3_errors(action: str) -> Iterator[None]:
    """Translate botocore's exceptions raised inside the block into the `StorageError` tree."""
    try:
        yield
    except ClientError as exc:
        raise classify(action, exc) from exc
    except REFUSAL_ERRORS as exc:
        raise S3Refused(f"{action}: {type(exc).__name__}") from exc
    except BotoCoreError as exc:
        raise S3Unavailable(f"{action}: {exc}") from exc


def ensure_bucket(client: S3Client, bucket: str) -> None:
    """Create ``bucket`` in the client's region unless it already exists.

    Raises `S3Unavailable` (S3 unreachable or failing) or `S3Refused`, like every S3 call here.
    """
    try:
        with s3_errors(f"head bucket {bucket}"):
            client.head_bucket(Bucket=bucket)
        return
    except StorageError as exc:
        cause = exc.__cause__
        if not isinstance(cause, ClientError) or _error_code(cause) not in MISSING_BUCKET:
            raise
    with s3_errors(f"create bucket {bucket}"):
        _create_bucket(client, bucket)


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _create_bucket(client: S3Client, bucket: str) -> None:
    region = client.meta.region_name
    try:
        if region and region != "us-east-1":
            client.create_bucket(
                Bucket=bucket,
                CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
            )
        else:
            client.create_bucket(Bucket=bucket)
    except client.exceptions.BucketAlreadyOwnedByYou:
        pass  # another worker created it first


def head_object(client: S3Client, bucket: str, key: str) -> ObjectHead:
    """Size, content type, ETag and user metadata of ``s3://bucket/key``."""
    with s3_errors(f"head s3://{bucket}/{key}"):
        head = client.head_object(Bucket=bucket, Key=key)
    return ObjectHead(
        size=head["ContentLength"],
        content_type=head.get("ContentType", ""),
        etag=head.get("ETag", "").strip('"'),
        metadata=dict(head.get("Metadata", {})),
    )
