"""Moving whole media files between the network and a media worker's temporary folder."""

from __future__ import annotations

from pathlib import Path

import httpx

from jobs.clips.record import Clip
from pipeline.context import Context
from pipeline.resigning import request_to_send
from storage.errors import SourceGone, SourceUnavailable
from storage.objects import StoredObject
from storage.s3 import s3_errors
from wire.guarded import UnresolvableHost, UnsafeURL, host_of

CHUNK = 1024 * 1024


def source_url(ctx: Context, clip: Clip) -> str:
    """A URL the clip's source can be read from now (an ``s3://`` source signed afresh)."""
    return request_to_send(ctx, clip.source, clip.request).video_url


def download(ctx: Context, url: str, dest: Path) -> Path:
    """Stream ``url`` into ``dest`` (memory bounded by one chunk).

    Raises `SourceGone` on a 4xx other than 429 and on a hop the guarded client refuses (a
    source that passed preflight and now redirects inside: the clip fails naming the host),
    `SourceUnavailable` on a 5xx, a 429 or a connection failure (worth retrying).
    """
    try:
        with ctx.http.stream("GET", url) as response:
            _check(response.status_code)
            with dest.open("wb") as handle:
                for chunk in response.iter_bytes(CHUNK):
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


def _check(status: int) -> None:
    if status == 429 or status >= 500:
        raise SourceUnavailable(f"reading the source: HTTP {status}")
    if status >= 400:
        raise SourceGone(f"reading the source: HTTP {status}")


def fetch_output(ctx: Context, output: StoredObject, dest: Path) -> Path:
    """Download an archived output from S3 into ``dest``."""
    with s3_errors(f"reading {output.uri}"):
        ctx.s3.download_file(output.bucket, output.key, str(dest))
    return dest
