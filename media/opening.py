"""Open a video from a local path, an http(s) URL or a binary file object with PyAV."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import av
import httpx

from media.errors import ProbeError
from media.remote import Readable, open_remote
from wire.answers import redact_url

MediaSource = str | Path | IO[bytes]
DEFAULT_TIMEOUT_S = 30.0
# FFmpeg also opens text (tty), images, playlists and concat lists that name other files;
# only real video containers get past the demuxer allow-list.
VIDEO_DEMUXERS = "mov,mp4,matroska,webm,avi,mpegts,mpeg,flv,asf,ogg,mxf,gif"


@dataclass(frozen=True)
class Opened:
    """An open input container, the source's size in bytes (None if unknown) and its name."""

    container: Any
    size_bytes: int | None
    where: str


def describe(source: MediaSource) -> str:
    """A name for ``source`` in messages: a URL loses its query, a file object its name."""
    if isinstance(source, str) and source.startswith(("http://", "https://")):
        return redact_url(source)
    if isinstance(source, str | Path):
        return str(source)
    return str(getattr(source, "name", "<stream>"))


def reader_size(reader: IO[bytes] | Readable) -> int | None:
    """The length of a seekable file object (position kept), or None."""
    seekable = getattr(reader, "seekable", None)
    if seekable is not None and not seekable():
        return None
    here = reader.tell()
    size = reader.seek(0, os.SEEK_END)
    reader.seek(here)
    return size - here


@contextmanager
def open_media(
    source: MediaSource, *, http: httpx.Client | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
) -> Iterator[Opened]:
    """Open ``source`` for reading; raise `ProbeError` when it is missing, empty or not media.

    URLs are read through ``http`` (a client with ``timeout_s`` when None) with Range requests.
    """
    where = describe(source)
    with ExitStack() as stack:
        target, size = _input(source, http, timeout_s, where, stack)
        if size == 0:
            raise ProbeError(where, "the file is empty")
        options = {"format_whitelist": VIDEO_DEMUXERS, "protocol_whitelist": "file"}
        try:
            container = av.open(target, mode="r", timeout=timeout_s, container_options=options)
        except av.FFmpegError as exc:
            raise ProbeError(where, f"not a video: {exc.strerror or type(exc).__name__}") from exc
        stack.callback(container.close)
        yield Opened(container, size, where)


def _input(
    source: MediaSource,
    http: httpx.Client | None,
    timeout_s: float,
    where: str,
    stack: ExitStack,
) -> tuple[Any, int | None]:
    if isinstance(source, str) and source.startswith(("http://", "https://")):
        if http is None:
            http = stack.enter_context(httpx.Client(timeout=timeout_s, follow_redirects=True))
        reader, size = open_remote(http, source)
        stack.callback(reader.close)
        return reader, size
    if isinstance(source, str) and source.startswith("s3://"):
        raise ProbeError(where, "presign s3:// sources before probing them")
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise ProbeError(where, "no such file")
        return str(path), path.stat().st_size
    return source, reader_size(source)
