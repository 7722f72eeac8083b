"""`copy_url_to_s3`: stream a provider's output URL into S3 before the provider deletes it.

The output is checked on the way: its first bytes must carry a video container's signature
(`storage.content`), which sets the object's type, and the whole file, kept in a temporary file
as it streams, is probed as a video (``inspect``) before the object is completed; a refusal
aborts the upload, so nothing but a video is ever stored.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

import httpx

from storage.content import SNIFF_BYTES, VIDEO_MARK, sniff_video
from storage.download import Source, open_source
from storage.errors import DeadlinePassed, UnsafeOutput
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


Inspect = Callable[[Path], str | None]
"""Why the file at a path is not a video, or None when it is one (`media` probes it)."""


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
    inspect: Inspect | None = None,
    max_bytes: int | None = None,
) -> StoredObject:
    """Copy the body of ``url`` to ``s3://bucket/key``; the same key overwrites, never duplicates.

    Memory stays around a few parts of ``part_bytes`` (>= 5 MiB) whatever the size. The object
    carries ``metadata`` as user metadata. With ``inspect`` (the pipeline always passes one) the
    output must be a video: the object gets the type its first bytes show (never the answer's
    Content-Type) and restyle's checked-video mark; without it (a raw copy, as the archive
    benchmark makes) it gets the answer's type (video/mp4 when absent). ``deadline`` is checked
    before the request and between parts; the body may not pass ``max_bytes``.

    Raises `SourceGone` (4xx: the output is gone), `SourceUnavailable` (5xx, connection
    errors), `IncompleteDownload` (length mismatch or empty body), `DeadlinePassed`,
    `UnsafeOutput` (a refused hop, too large, not a video), `S3Unavailable` or `S3Refused`; a
    multipart upload is aborted whatever the failure.
    """
    check = deadline_check(deadline, now, f"s3://{bucket}/{key}")
    check()
    with (
        open_source(http, url, max_bytes) as source,
        tempfile.TemporaryDirectory(prefix="restyle-output-") as folder,
    ):
        spool = Path(folder) / "output"
        chunks = source.chunks()
        content_type, extra = source.content_type, {}
        if inspect is not None:
            head = _head(chunks)
            found = sniff_video(head)
            if found is None:
                raise UnsafeOutput(
                    f"{source.host}: the output is not a video (no MP4, QuickTime or Matroska "
                    "signature in its first bytes)"
                )
            content_type, extra = found, VIDEO_MARK
        target = Target(bucket, key, content_type, {**metadata, **extra})
        with spool.open("wb") as file:
            body = chunks if inspect is None else _kept(source, head, chunks, file, spool, inspect)
            written = put_stream(
                s3,
                target,
                body,
                part_bytes=part_size_for(part_bytes, source.length),
                before_part=check,
            )
    return StoredObject(
        bucket=bucket,
        key=key,
        size=written.size,
        sha256=written.sha256,
        content_type=content_type,
    )


def _head(chunks: Iterator[bytes]) -> bytes:
    head = b""
    while len(head) < SNIFF_BYTES:
        chunk = next(chunks, None)
        if chunk is None:
            break
        head += chunk
    return head


def _kept(
    source: Source,
    head: bytes,
    rest: Iterator[bytes],
    file: IO[bytes],
    spool: Path,
    inspect: Inspect,
) -> Iterator[bytes]:
    """The body, also written to ``spool``; once it has all been read, and so before the
    upload completes (`put_stream` asks for the next part first), the file is inspected."""
    file.write(head)
    yield head
    for chunk in rest:
        file.write(chunk)
        yield chunk
    file.flush()
    reason = inspect(spool)
    if reason is not None:
        raise UnsafeOutput(f"{source.host}: the output is not a video: {reason}")
