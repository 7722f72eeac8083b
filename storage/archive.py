"""`copy_url_to_s3`: stream a provider's output URL into S3 before the provider deletes it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

import httpx

from storage.download import open_source
from storage.errors import DeadlinePassed
from storage.multipart import Target, part_size_for, put_stream
from storage.objects import StoredObject

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def deadline_check(
    deadline: datetime | None, now: Callable[[], datetime], where: str
) -> Callable[[], None]:
    """A check that raises `DeadlinePassed` once ``now()`` reaches ``deadline`` (None: never)."""

    def check() -> None:
        if deadline is not None and now() >= deadline:
            raise DeadlinePassed(f"{where}: the output expired at {deadline.isoformat()}")

    return check


def copy_url_to_s3(
    http: httpx.Client,
    url: str,
    *,
    s3: S3Client,
    bucket: str,
    key: str,
    metadata: Mapping[str, str],
    part_bytes: int,
    deadline: datetime | None,
    now: Callable[[], datetime],
) -> StoredObject:
    """Copy the body of ``url`` to ``s3://bucket/key``; the same key overwrites, never duplicates.

    Memory stays around a few parts of ``part_bytes`` (>= 5 MiB) whatever the size. The object
    carries exactly ``metadata`` as user metadata and the response's content type (video/mp4
    when absent). ``deadline`` is checked before the request and between parts.

    Raises `SourceGone` (4xx: the output is gone), `SourceUnavailable` (5xx, connection
    errors), `IncompleteDownload` (length mismatch or empty body), `DeadlinePassed`,
    `S3Unavailable` or `S3Refused`; a multipart upload is aborted whatever the failure.
    """
    check = deadline_check(deadline, now, f"s3://{bucket}/{key}")
    check()
    with open_source(http, url) as source:
        target = Target(bucket, key, source.content_type, dict(metadata))
        written = put_stream(
            s3,
            target,
            source.chunks(),
            part_bytes=part_size_for(part_bytes, source.length),
            before_part=check,
        )
    return StoredObject(
        bucket=bucket,
        key=key,
        size=written.size,
        sha256=written.sha256,
        content_type=source.content_type,
    )
