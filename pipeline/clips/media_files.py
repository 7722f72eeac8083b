"""Moving whole media files between the network and a media worker's temporary folder."""

from __future__ import annotations

from pathlib import Path

from jobs.clips.record import Clip
from pipeline.context import Context
from pipeline.resigning import request_to_send
from storage.download import stream_to_file
from storage.objects import StoredObject
from storage.s3 import s3_errors

CHUNK = 1024 * 1024


def source_url(ctx: Context, clip: Clip) -> str:
    """A URL the clip's source can be read from now (an ``s3://`` source signed afresh)."""
    return request_to_send(ctx, clip.source, clip.request).video_url


def download(ctx: Context, url: str, dest: Path) -> Path:
    """Stream ``url`` into ``dest`` (`storage.download.stream_to_file`: memory bounded by one
    chunk; `SourceGone` or `SourceUnavailable` when it cannot be read)."""
    return stream_to_file(ctx.http, url, dest, CHUNK)


def fetch_output(ctx: Context, output: StoredObject, dest: Path) -> Path:
    """Download an archived output from S3 into ``dest``."""
    with s3_errors(f"reading {output.uri}"):
        ctx.s3.download_file(output.bucket, output.key, str(dest))
    return dest
