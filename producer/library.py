"""What SOURCE names (a manifest, an S3 prefix, a local file or folder) and where each clip lives.

`expand_source` turns SOURCE into manifest rows (a manifest may also live in S3; its relative
sources are then keys beside it, as a local manifest's are paths beside it).
`SourceLocator.locate` turns one row's source into the URL a provider fetches and the target
the preflight probe opens:

- ``https://`` passes through (after the URL safety check in `producer.safety`);
- ``s3://bucket/key`` becomes a presigned GET valid for ``settings.presign_ttl_s``;
- a local path is uploaded to ``{s3_staging_prefix}/{sha256}/{name}`` (content-addressed, so a
  re-submit uploads nothing) and presigned the same way.

The presigned URL is written into the job's request, so it must outlive the wait in the queue
plus the provider's fetch: the default TTL is 6 hours, the maximum SigV4 allows is 7 days, and
`producer.batch` warns when a batch's estimated wall time exceeds the TTL. The job keeps the
original ``s3://`` URI as its ``source``, from which a fresh URL can always be presigned.
"""

from __future__ import annotations

import functools
import hashlib
import mimetypes
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from boto3.exceptions import Boto3Error
from botocore.exceptions import BotoCoreError, ClientError

from config.settings import Settings
from producer.manifest import (
    Findings,
    ManifestError,
    ManifestRow,
    manifest_format,
    size_problem,
    stream_manifest,
    stream_manifest_file,
)
from producer.safety import Resolver, UnreachableSource, UnsafeSource, check_url, resolve_host
from producer.timelines.ranges import TimelineChoices, is_timeline_name
from storage.errors import StorageError
from storage.object_keys import parse_s3_uri, staging_key
from storage.presign import presign_get, video_type

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

VIDEO_SUFFIXES: tuple[str, ...] = (".mp4", ".mov", ".webm", ".m4v", ".mkv")
_CHUNK = 1024 * 1024


class SourceError(Exception):
    """SOURCE (the command-line argument) is not something restyle can read."""


@dataclass(frozen=True)
class Expanded:
    """The rows SOURCE stands for, and the name problems are reported against.

    A manifest's ``rows`` stream from the file (read once, a line at a time); its problems and
    warnings fill ``found`` as they go by, so read ``errors`` after the rows.
    """

    name: str
    rows: Iterable[ManifestRow]
    found: Findings = field(default_factory=Findings)
    timeline: str | None = None
    """A timeline SOURCE as OTIO JSON, each used clip marked with its item."""

    @property
    def errors(self) -> list[ManifestError]:
        """The problems (the first `MAX_KEPT_ERRORS`) and warnings found so far, by line."""
        return self.found.all


@dataclass(frozen=True)
class Located:
    """Where one source is probed from and the URL a provider is given."""

    probe_target: str
    provider_url: str
    size_bytes: int | None = None
    retyped_from: str | None = None
    """The non-video Content-Type an S3 source is stored with; its URL says a video type."""


def is_video_name(name: str) -> bool:
    """True when ``name`` ends with one of the video suffixes restyle lists."""
    return name.lower().endswith(VIDEO_SUFFIXES)


def expand_source(
    source: str,
    s3: S3Client | None,
    strict_columns: bool = False,
    timeline: TimelineChoices | None = None,
    max_bytes: int | None = None,
) -> Expanded:
    """The rows of a manifest, a timeline, an ``s3://`` listing, a URL, or a local file or
    folder.

    ``errors`` holds a manifest's problems and warnings (see `producer.manifest`).
    """
    if source.startswith("s3://"):
        if s3 is None:
            raise SourceError("an s3:// SOURCE needs S3 settings")
        if manifest_format(source):
            return _expand_s3_manifest(s3, source, strict_columns, max_bytes)
        return Expanded(source, _rows(list_s3_videos(s3, source)))
    if source.startswith(("https://", "http://")):
        return Expanded(source, _rows([source]))
    if "://" in source:
        raise SourceError(f"{source.split('://', 1)[0]}:// sources are not accepted")
    if is_timeline_name(source) and Path(source).is_file():
        # OpenTimelineIO and its adapters load only for a timeline.
        from producer.timelines.reading import read_timeline

        read = read_timeline(Path(source), timeline or TimelineChoices(), s3)
        found = Findings()
        for error in read.errors:
            found.add(error)
        return Expanded(source, read.rows, found, read.marked or None)
    return _expand_local(Path(source), strict_columns, max_bytes)


def _expand_local(path: Path, strict_columns: bool, max_bytes: int | None) -> Expanded:
    if path.is_dir():
        videos = sorted(p for p in path.rglob("*") if p.is_file() and is_video_name(p.name))
        if not videos:
            raise SourceError(f"{path}: no video files ({', '.join(VIDEO_SUFFIXES)}) found")
        return Expanded(str(path), _rows([str(p.resolve()) for p in videos]))
    if not path.is_file():
        raise SourceError(f"{path}: no such file or folder")
    if manifest_format(path.name):
        found = Findings()
        rows = stream_manifest_file(path, found, strict_columns, max_bytes)
        return Expanded(str(path), (_anchor(row, path.parent) for row in rows), found)
    if is_video_name(path.name):
        return Expanded(str(path), _rows([str(path.resolve())]))
    raise SourceError(
        f"{path}: neither a manifest (.csv, .jsonl), a timeline (.otio, .edl, .xml) nor a video"
    )


def _expand_s3_manifest(
    s3: S3Client, uri: str, strict_columns: bool, max_bytes: int | None
) -> Expanded:
    """A manifest stored in S3, streamed; its relative sources are keys beside it."""
    bucket, key = parse_s3_uri(uri)
    found = Findings()
    try:
        body = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        raise SourceError(f"cannot read {uri}: {_s3_reason(exc)}") from None
    except BotoCoreError as exc:
        raise SourceError(f"cannot read {uri}: {exc}") from None
    too_large = size_problem(uri, body["ContentLength"], max_bytes)
    if too_large is not None:
        body["Body"].close()
        found.add(too_large)
        return Expanded(uri, [], found)
    lines = _s3_lines(uri, body["Body"].iter_lines(chunk_size=_CHUNK, keepends=True))
    rows = stream_manifest(lines, uri, found, strict_columns=strict_columns)
    folder = uri.rsplit("/", 1)[0]
    return Expanded(uri, (_beside(row, folder) for row in rows), found)


def _s3_lines(uri: str, lines: Iterator[bytes]) -> Iterator[bytes]:
    """An S3 body's lines; a connection lost mid-read is a `SourceError` naming the manifest."""
    try:
        yield from lines
    except BotoCoreError as exc:
        raise SourceError(f"cannot read {uri}: {exc}") from None


def _beside(row: ManifestRow, folder: str) -> ManifestRow:
    if "://" in row.source:
        return row
    return replace(row, source=f"{folder}/{row.source.lstrip('/')}")


def _rows(sources: list[str]) -> list[ManifestRow]:
    """One row per clip of a folder, a listing or a URL: each clip is its own file."""
    return [
        ManifestRow(line=index, source=src, file=src) for index, src in enumerate(sources, start=1)
    ]


def _anchor(row: ManifestRow, base: Path) -> ManifestRow:
    """A manifest's relative local paths are relative to the manifest, not to the shell."""
    if "://" in row.source or Path(row.source).is_absolute():
        return row
    return replace(row, source=_resolved(base, row.source))


@functools.lru_cache(maxsize=4096)
def _resolved(base: Path, source: str) -> str:
    """One path resolution per distinct source (a library repeats them, row after row)."""
    return str((base / source).resolve())


def list_s3_videos(s3: S3Client, uri: str, page_size: int = 1000) -> list[str]:
    """``s3://`` URIs of every video object under ``uri`` (recursive, every page), sorted."""
    bucket, prefix = parse_s3_uri(uri)
    found: list[str] = []
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": page_size}
    )
    try:
        for page in pages:
            found.extend(
                f"s3://{bucket}/{obj['Key']}"
                for obj in page.get("Contents", [])
                if is_video_name(obj["Key"])
            )
    except ClientError as exc:
        raise SourceError(f"cannot list {uri}: {_s3_reason(exc)}") from None
    except BotoCoreError as exc:
        raise SourceError(f"cannot list {uri}: {exc}") from None
    if not found:
        raise SourceError(f"{uri}: no video objects ({', '.join(VIDEO_SUFFIXES)}) found")
    return sorted(found)


def _s3_reason(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class SourceLocator:
    """Turns row sources into probe targets and provider URLs (staging local files in S3)."""

    def __init__(
        self, settings: Settings, s3: S3Client | None, resolve: Resolver = resolve_host
    ) -> None:
        self.settings = settings
        self.s3 = s3
        self.resolve = resolve

    def locate(self, source: str, stage: bool = True) -> Located:
        """Where ``source`` is read from; ``stage=False`` (dry run) uploads nothing.

        Raises `UnsafeSource` for refused URLs and `UnreachableSource` for missing ones.
        """
        if source.startswith("s3://"):
            return self._s3_object(source)
        if "://" in source:
            check_url(source, self.settings.allow_private_sources, self.resolve)
            return Located(probe_target=source, provider_url=source)
        return self._local_file(Path(source), stage)

    def check_reference(self, url: str) -> None:
        """A reference image must be a URL the provider can fetch, by the same rules."""
        if url.startswith("s3://"):
            raise UnsafeSource("give the reference image as an https:// URL")
        check_url(url, self.settings.allow_private_sources, self.resolve)

    def _client(self) -> S3Client:
        if self.s3 is None:
            raise UnreachableSource("S3 is not configured (RESTYLE_S3_*)")
        return self.s3

    def _presign(self, bucket: str, key: str) -> str:
        try:
            ttl = self.settings.presign_ttl_s
            return presign_get(self._client(), bucket, key, ttl, video_type(key))
        except StorageError as exc:
            raise UnreachableSource(exc.message) from None

    def _s3_object(self, uri: str) -> Located:
        try:
            bucket, key = parse_s3_uri(uri)
        except ValueError as exc:
            raise UnreachableSource(str(exc)) from None
        try:
            head = self._client().head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            raise UnreachableSource(f"{uri}: {_s3_reason(exc)}") from None
        except BotoCoreError as exc:
            raise UnreachableSource(f"{uri}: {exc}") from None
        url = self._presign(bucket, key)
        stored = str(head.get("ContentType", "")).split(";")[0].strip().lower()
        # Stored untyped (boto3's upload_file default): the URL carries a video type instead,
        # which a provider that checks it (Runway) takes; the preflight says so.
        retyped = None if stored.startswith("video/") else stored or "(none)"
        return Located(probe_target=url, provider_url=url, size_bytes=head["ContentLength"],
                       retyped_from=retyped)  # fmt: skip

    def _local_file(self, path: Path, stage: bool) -> Located:
        if not path.is_file():
            raise UnreachableSource(f"{path}: no such file")
        bucket = self.settings.s3_bucket
        key = staging_key(self.settings.s3_staging_prefix, file_sha256(path), path.name)
        if stage and not self._exists(bucket, key):
            self._upload(path, bucket, key)
        url = self._presign(bucket, key)
        return Located(probe_target=str(path), provider_url=url, size_bytes=path.stat().st_size)

    def _exists(self, bucket: str, key: str) -> bool:
        try:
            self._client().head_object(Bucket=bucket, Key=key)
        except ClientError:
            return False
        except BotoCoreError as exc:
            raise UnreachableSource(f"cannot reach S3 to stage a source: {exc}") from None
        return True

    def _upload(self, path: Path, bucket: str, key: str) -> None:
        try:
            # A typed object: Runway refuses a source whose HEAD says application/octet-stream.
            kind = mimetypes.guess_type(path.name)[0] or "video/mp4"
            self._client().upload_file(str(path), bucket, key, ExtraArgs={"ContentType": kind})
        except (ClientError, BotoCoreError, Boto3Error, OSError) as exc:
            raise UnreachableSource(f"cannot stage {path.name} in s3://{bucket}: {exc}") from None
