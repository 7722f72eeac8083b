"""Read a video over HTTP without downloading all of it.

`open_remote` asks for the first block with a ``Range`` header. A server that honours it
(S3 and its presigned URLs, CDNs, nginx) gets a `RangeReader`: a seekable file that fetches
256 KiB blocks on demand and keeps a few, so probing reads the header (and, for an MP4 whose
index sits at the end, the tail) and nothing else. A server that ignores ``Range`` gets its
body spooled to a temporary file, up to a size limit.

httpx does the HTTP (our timeouts, our TLS verification), not FFmpeg's own http protocol.
"""

from __future__ import annotations

import re
import tempfile
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Protocol

import httpx

from media.errors import ProbeError
from wire.answers import is_temporary_status, redact_url
from wire.guarded import UnresolvableHost, UnsafeURL

BLOCK_BYTES = 256 * 1024
CACHE_BLOCKS = 16
MAX_SPOOL_BYTES = 256 * 1024 * 1024
SPOOL_IN_MEMORY_BYTES = 8 * 1024 * 1024
CONTENT_RANGE = re.compile(r"bytes \d+-\d+/(\d+)$")
SEEK_BASES = (0, 1, 2)


class Readable(Protocol):
    """What PyAV needs from a file object to read it with seeks."""

    def read(self, size: int = -1, /) -> bytes: ...
    def seek(self, offset: int, whence: int = 0, /) -> int: ...
    def tell(self) -> int: ...
    def close(self) -> None: ...


def check_status(response: httpx.Response, where: str) -> None:
    """Raise `ProbeError` for an error status (`is_temporary_status` says which are temporary)."""
    status = response.status_code
    if status < 400 or status == 416:
        return
    raise ProbeError(where, f"HTTP {status}", temporary=is_temporary_status(status))


class RangeReader:
    """A read-only, seekable file over HTTP Range requests with a small block cache."""

    def __init__(
        self, http: httpx.Client, url: str, size: int, first_block: bytes, where: str
    ) -> None:
        self.size = size
        self._http = http
        self._url = url
        self._where = where
        self._position = 0
        self._blocks: OrderedDict[int, bytes] = OrderedDict({0: first_block})

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = 0, /) -> int:
        """Move like `io.IOBase.seek` (0: start, 1: current, 2: end); return the position."""
        base = (0, self._position, self.size)[SEEK_BASES.index(whence)]
        self._position = max(0, base + offset)
        return self._position

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes from the current position (all that is left when negative)."""
        end = self.size if size < 0 else min(self.size, self._position + size)
        pieces: list[bytes] = []
        while self._position < end:
            index, within = divmod(self._position, BLOCK_BYTES)
            piece = self._block(index)[within : within + end - self._position]
            pieces.append(piece)
            self._position += len(piece)
        return b"".join(pieces)

    def close(self) -> None:
        self._blocks.clear()

    def _block(self, index: int) -> bytes:
        block = self._blocks.get(index)
        if block is None:
            block = self._fetch(index * BLOCK_BYTES, min(self.size, (index + 1) * BLOCK_BYTES))
            self._blocks[index] = block
            while len(self._blocks) > CACHE_BLOCKS:
                self._blocks.popitem(last=False)
        self._blocks.move_to_end(index)
        return block

    def _fetch(self, start: int, end: int) -> bytes:
        headers = {"Range": f"bytes={start}-{end - 1}"}
        with http_errors(self._where):
            response = self._http.get(self._url, headers=headers)
        check_status(response, self._where)
        if response.status_code != 206 or len(response.content) != end - start:
            raise ProbeError(self._where, f"bad answer to a range request ({headers['Range']})")
        return response.content


@contextmanager
def http_errors(where: str) -> Iterator[None]:
    """Turn httpx's exceptions raised in the block into `ProbeError`."""
    try:
        yield
    except UnsafeURL as exc:
        raise ProbeError(where, f"refused: {exc}") from None
    except UnresolvableHost as exc:
        raise ProbeError(where, str(exc), temporary=True) from None
    except httpx.TooManyRedirects:
        raise ProbeError(where, "too many redirects") from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise ProbeError(where, "not a URL restyle can fetch") from exc
    except httpx.TransportError as exc:
        reason = f"unreachable: {type(exc).__name__}"
        raise ProbeError(where, reason, temporary=True) from exc


def open_remote(
    http: httpx.Client, url: str, max_spool_bytes: int = MAX_SPOOL_BYTES
) -> tuple[Readable, int]:
    """A seekable reader of ``url`` and its size; raises `ProbeError` when it cannot be read."""
    where = redact_url(url)
    headers = {"Range": f"bytes=0-{BLOCK_BYTES - 1}"}
    with http_errors(where), http.stream("GET", url, headers=headers) as response:
        check_status(response, where)
        if response.status_code == 416:
            return _spooled(iter(()), where, max_spool_bytes)
        if response.status_code == 206:
            return _range_reader(http, url, response, where)
        return _spooled(response.iter_bytes(), where, max_spool_bytes)


def _range_reader(
    http: httpx.Client, url: str, response: httpx.Response, where: str
) -> tuple[Readable, int]:
    match = CONTENT_RANGE.match(response.headers.get("content-range", ""))
    if match is None:
        raise ProbeError(where, "the server did not say how large the file is")
    size, first = int(match[1]), response.read()
    if len(first) != min(size, BLOCK_BYTES):
        raise ProbeError(where, "bad answer to a range request (bytes=0-)")
    return RangeReader(http, url, size, first, where), size


def _spooled(chunks: Iterable[bytes], where: str, limit: int) -> tuple[Readable, int]:
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES)  # noqa: SIM115
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            spool.close()
            raise ProbeError(where, f"larger than {limit} bytes and the server ignores Range")
        spool.write(chunk)
    spool.seek(0)
    return spool, size
