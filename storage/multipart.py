"""Write a stream of bytes to one S3 object with bounded memory.

A body smaller than one part is a single PutObject. Anything larger is a multipart upload whose
parts go up a few at a time on a small thread pool while the stream keeps being read (and
hashed, in order) on the calling thread. Any failure, including an interrupt, aborts the upload,
so no half-written upload is left behind to be billed.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Final, cast

from storage.parts import PartBody, rechunk
from storage.s3 import s3_errors

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

MIN_PART_BYTES = 5 * 1024 * 1024
MAX_PARTS = 10_000
MEMORY_BUDGET_BYTES = 32 * 1024 * 1024
MAX_IN_FLIGHT = 4
CHECKSUM_ALGORITHM: Final = "CRC32"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """The object to write and what to write on it besides the bytes."""

    bucket: str
    key: str
    content_type: str
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class Written:
    """How many bytes went into the object and their SHA-256."""

    size: int
    sha256: str


def parts_in_flight(part_bytes: int) -> int:
    """How many parts may upload at once so that they and the part being read fit the budget."""
    return max(1, min(MAX_IN_FLIGHT, MEMORY_BUDGET_BYTES // part_bytes - 1))


def part_size_for(part_bytes: int, expected_size: int | None) -> int:
    """``part_bytes``, grown when needed so that ``expected_size`` fits in 10,000 parts."""
    if part_bytes < MIN_PART_BYTES:
        raise ValueError(f"part_bytes must be at least {MIN_PART_BYTES}, not {part_bytes}")
    if expected_size is None:
        return part_bytes
    return max(part_bytes, -(-expected_size // MAX_PARTS))


class _Hashing:
    """Passes chunks through, counting and hashing them in stream order."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self._hash = hashlib.sha256()
        self.size = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self._hash.update(chunk)
            self.size += len(chunk)
            yield chunk

    def result(self) -> Written:
        return Written(self.size, self._hash.hexdigest())


def put_stream(
    s3: S3Client,
    target: Target,
    chunks: Iterable[bytes],
    *,
    part_bytes: int,
    before_part: Callable[[], None] = lambda: None,
) -> Written:
    """Write ``chunks`` to ``target``; ``before_part`` runs before each part is read.

    Exceptions from ``chunks`` or ``before_part`` propagate after any multipart upload is
    aborted; S3 failures raise the `storage.errors` tree.
    """
    part_bytes = part_size_for(part_bytes, None)
    hashing = _Hashing(chunks)
    parts = _checked(rechunk(hashing, part_bytes), before_part)
    head = list(itertools.islice(parts, 2))
    if len(head) < 2:
        _put_single(s3, target, head[0] if head else PartBody([]))
    else:
        _put_multipart(s3, target, _drain(head, parts), part_bytes)
    return hashing.result()


def _checked(parts: Iterator[PartBody], before_part: Callable[[], None]) -> Iterator[PartBody]:
    while True:
        before_part()
        part = next(parts, None)
        if part is None:
            return
        yield part


def _drain(head: list[PartBody], rest: Iterator[PartBody]) -> Iterator[PartBody]:
    # Popping, not iterating, so that parts already uploaded are not kept alive by ``head``.
    while head:
        yield head.pop(0)
    yield from rest


def _put_single(s3: S3Client, target: Target, body: PartBody) -> None:
    with s3_errors(f"put {target.uri}"):
        s3.put_object(
            Bucket=target.bucket,
            Key=target.key,
            Body=cast(IO[bytes], body),
            ContentType=target.content_type,
            Metadata=dict(target.metadata),
        )


def _put_multipart(
    s3: S3Client, target: Target, parts: Iterator[PartBody], part_bytes: int
) -> None:
    with s3_errors(f"start multipart upload to {target.uri}"):
        upload_id = s3.create_multipart_upload(
            Bucket=target.bucket,
            Key=target.key,
            ContentType=target.content_type,
            Metadata=dict(target.metadata),
            ChecksumAlgorithm=CHECKSUM_ALGORITHM,
        )["UploadId"]
    upload = MultipartUpload(s3, target, upload_id, parts_in_flight(part_bytes))
    try:
        for number, body in enumerate(parts, start=1):
            upload.add(number, body)
        upload.complete()
    except BaseException:
        upload.abort()
        raise


class MultipartUpload:
    """One started multipart upload: parts go up on a bounded pool, then complete or abort."""

    def __init__(self, s3: S3Client, target: Target, upload_id: str, in_flight: int) -> None:
        self._s3 = s3
        self._target = target
        self._upload_id = upload_id
        self._in_flight = in_flight
        self._pool = ThreadPoolExecutor(in_flight, thread_name_prefix="s3-part")
        self._pending: deque[Future[CompletedPartTypeDef]] = deque()
        self._done: list[CompletedPartTypeDef] = []

    def add(self, number: int, body: PartBody) -> None:
        """Queue part ``number``; block while ``in_flight`` parts are already uploading."""
        if number > MAX_PARTS:
            raise ValueError(f"{self._target.uri}: more than {MAX_PARTS} parts")
        while len(self._pending) >= self._in_flight:
            self._done.append(self._pending.popleft().result())
        self._pending.append(self._pool.submit(self._upload_part, number, body))

    def complete(self) -> None:
        """Wait for the remaining parts, then assemble the object."""
        while self._pending:
            self._done.append(self._pending.popleft().result())
        self._pool.shutdown()
        with s3_errors(f"complete multipart upload to {self._target.uri}"):
            self._s3.complete_multipart_upload(
                Bucket=self._target.bucket,
                Key=self._target.key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": sorted(self._done, key=lambda p: p["PartNumber"])},
            )

    def abort(self) -> None:
        """Stop queued parts, let running ones end, and abort the upload (best effort)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pending.clear()
        try:
            with s3_errors(f"abort multipart upload to {self._target.uri}"):
                self._s3.abort_multipart_upload(
                    Bucket=self._target.bucket, Key=self._target.key, UploadId=self._upload_id
                )
        except Exception as exc:  # the original failure is the one worth raising
            log.warning("could not abort %s of %s: %s", self._upload_id, self._target.uri, exc)

    def _upload_part(self, number: int, body: PartBody) -> CompletedPartTypeDef:
        with s3_errors(f"upload part {number} to {self._target.uri}"):
            answer = self._s3.upload_part(
                Bucket=self._target.bucket,
                Key=self._target.key,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=cast(IO[bytes], body),
                ChecksumAlgorithm=CHECKSUM_ALGORITHM,
            )
        part: CompletedPartTypeDef = {"PartNumber": number, "ETag": answer["ETag"]}
        if "ChecksumCRC32" in answer:
            part["ChecksumCRC32"] = answer["ChecksumCRC32"]
        return part
