"""The HTTP side of a copy: GET an output URL as a stream, and map what goes wrong.

The one boundary where httpx's exceptions, the guarded client's refusals (`wire.guarded`) and
the source's status codes become the `storage.errors` tree. URLs in messages lose their query
string, where signed URLs keep their signatures and tokens; refusals name the host.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from storage.errors import IncompleteDownload, SourceGone, SourceUnavailable, UnsafeOutput
from wire.answers import is_temporary_status, redact_url, retry_after_s
from wire.guarded import UnresolvableHost, UnsafeURL, host_of

DEFAULT_CONTENT_TYPE = "video/mp4"
GENERIC_CONTENT_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})


def content_type_of(response: httpx.Response) -> str:
    """The response's media type without parameters; ``video/mp4`` when absent or generic."""
    value = response.headers.get("content-type", "").split(";")[0].strip().lower()
    return DEFAULT_CONTENT_TYPE if value in GENERIC_CONTENT_TYPES else value


def content_length_of(response: httpx.Response) -> int | None:
    """The Content-Length header as an int, or None when absent or unreadable."""
    value = response.headers.get("content-length")
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


def check_status(response: httpx.Response, where: str) -> None:
    """Raise unless the response is a 2xx: temporary codes may pass, other codes will not."""
    status = response.status_code
    if response.is_success:
        return
    message = f"{where} answered HTTP {status}"
    if is_temporary_status(status):
        raise SourceUnavailable(message, retry_after=retry_after_s(response.headers, utcnow()))
    raise SourceGone(message)


def stream_to_file(client: httpx.Client, url: str, dest: Path, chunk_bytes: int) -> Path:
    """Stream ``url`` into ``dest`` (memory bounded by one chunk).

    Raises `SourceGone` on a 4xx other than 429 and on a hop the guarded client refuses (a
    source that passed preflight and now redirects inside: the clip fails naming the host),
    `SourceUnavailable` on a 5xx, a 429 or a connection failure (worth retrying).
    """
    try:
        with client.stream("GET", url) as response:
            _check_source(response.status_code)
            with dest.open("wb") as handle:
                for chunk in response.iter_bytes(chunk_bytes):
                    handle.write(chunk)
    except UnsafeURL as exc:
        raise SourceGone(f"reading the source: refused: {exc}") from None
    except httpx.TooManyRedirects:
        raise SourceGone(f"reading the source: {host_of(url)}: too many redirects") from None
    except UnresolvableHost as exc:
        raise SourceUnavailable(f"reading the source: {exc}") from None
    except httpx.HTTPError as exc:
        raise SourceUnavailable(f"reading the source: {type(exc).__name__}") from exc
    return dest


def _check_source(status: int) -> None:
    if status == 429 or status >= 500:
        raise SourceUnavailable(f"reading the source: HTTP {status}")
    if status >= 400:
        raise SourceGone(f"reading the source: HTTP {status}")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Source:
    """An open streamed response: its type, its announced length, and its body in chunks."""

    where: str
    content_type: str
    length: int | None
    response: httpx.Response
    max_bytes: int | None = None
    host: str = ""
    """``host[:port]`` the body came from (the last hop of a redirect chain), for refusals."""

    def chunks(self) -> Iterator[bytes]:
        """The body; raises `IncompleteDownload` when it does not match Content-Length and
        `UnsafeOutput` past ``max_bytes``."""
        try:
            for chunk in self.response.iter_bytes():
                if (
                    self.max_bytes is not None
                    and self.response.num_bytes_downloaded > self.max_bytes
                ):
                    raise UnsafeOutput(
                        f"{self.host}: the output is larger than {self.max_bytes} bytes"
                    )
                yield chunk
        except httpx.RemoteProtocolError as exc:
            raise IncompleteDownload(f"{self.where}: body cut short: {exc}") from exc
        except httpx.TransportError as exc:
            raise SourceUnavailable(f"{self.where}: {type(exc).__name__} mid-body") from exc
        self._check_length(self.response.num_bytes_downloaded)

    def _check_length(self, received: int) -> None:
        if received == 0:
            raise IncompleteDownload(f"{self.where}: the body is empty")
        if self.length is not None and received != self.length:
            raise IncompleteDownload(
                f"{self.where}: received {received} bytes, Content-Length said {self.length}"
            )


@contextmanager
def open_source(http: httpx.Client, url: str, max_bytes: int | None = None) -> Iterator[Source]:
    """GET ``url`` as a stream; raise `SourceGone`, `SourceUnavailable` or `UnsafeOutput`
    (a refused hop, too many redirects, a length over ``max_bytes``) before any body."""
    where = redact_url(url)
    try:
        response = http.send(http.build_request("GET", url), stream=True)
    except UnsafeURL as exc:
        raise UnsafeOutput(f"output URL refused: {exc}") from None
    except httpx.TooManyRedirects:
        raise UnsafeOutput(f"{host_of(url)}: too many redirects") from None
    except UnresolvableHost as exc:
        raise SourceUnavailable(f"{where}: {exc}") from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise SourceGone(f"{where}: not a URL restyle can fetch") from exc
    except httpx.TransportError as exc:
        raise SourceUnavailable(f"{where}: {type(exc).__name__}: {exc}") from exc
    try:
        check_status(response, where)
        host = host_of(str(response.url))
        length = content_length_of(response)
        if max_bytes is not None and length is not None and length > max_bytes:
            raise UnsafeOutput(f"{host}: the output announces {length} bytes, over {max_bytes}")
        yield Source(
            where, content_type_of(response), length, response, max_bytes=max_bytes, host=host
        )
    finally:
        response.close()
