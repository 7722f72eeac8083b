"""`upload_file`: put a local file into S3 (sources staged before they are presigned)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from storage.multipart import Target, part_size_for, put_stream
from storage.objects import StoredObject

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

READ_BYTES = 1024 * 1024
DEFAULT_PART_BYTES = 8 * 1024 * 1024


def read_chunks(path: Path, size: int = READ_BYTES) -> Iterator[bytes]:
    """The bytes of ``path`` in chunks of ``size``."""
    with path.open("rb") as handle:
        while chunk := handle.read(size):
            yield chunk


def upload_file(
    client: S3Client,
    path: str | Path,
    bucket: str,
    key: str,
    content_type: str = "video/mp4",
    *,
    metadata: Mapping[str, str] | None = None,
    part_bytes: int = DEFAULT_PART_BYTES,
) -> StoredObject:
    """Upload ``path`` to ``s3://bucket/key`` in one pass that also hashes it.

    Raises `OSError` when the file cannot be read, `S3Unavailable` or `S3Refused` from S3.
    """
    path = Path(path)
    target = Target(bucket, key, content_type, dict(metadata or {}))
    part_bytes = part_size_for(part_bytes, path.stat().st_size)
    written = put_stream(client, target, read_chunks(path), part_bytes=part_bytes)
    return StoredObject(
        bucket=bucket, key=key, size=written.size, sha256=written.sha256, content_type=content_type
    )
