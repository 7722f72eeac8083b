"""Frames made once, when an output is stored: a few PNGs next to it in S3, so every page and
report shows before/after pictures at once instead of decoding videos on first view.

A job keeps ``before`` (its source) and ``after`` (its output) at the same moment; a stitched
clip keeps ``before-start``, ``after-start``, ``-middle`` and ``-end`` pairs (which shots a job
or a clip needs: `pipeline.thumbnails`). Making them is best effort: a frame that cannot be
taken is left out (pages fall back to taking it on demand), and never fails the step that
stored the output.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from media.errors import ProbeError
from storage.object_keys import parse_s3_uri, thumbnail_key
from storage.presign import presign_get

if TYPE_CHECKING:
    import httpx
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

WIDTH = 320
SIGNED_TTL_S = 900
MAX_OUTPUT_BYTES = 64 * 1024 * 1024
"""An output larger than this (never a provider's few-second render) gets its frames on first
view instead: decoding it where it was archived would cost that worker tens of MB."""
WHOLE_READ_BYTES = 16 * 1024 * 1024
READ_TIMEOUT_S = 10.0
"""Frames are a nicety: a slow store never holds the step that stored the output for long."""
CLIP_POINTS = (("start", 0.0), ("middle", 0.5), ("end", 1.0))
CLIP_FRAMES = tuple(f"{side}-{where}" for where, _ in CLIP_POINTS for side in ("before", "after"))

Grab = Callable[[str, float], bytes]
"""PNG bytes of the frame at ``at_s`` of a video given as s3:// URI, URL or local path."""


@dataclass(frozen=True)
class Shot:
    """One frame to keep: its name, the video it comes from and when."""

    name: str
    location: str
    at_s: float


def job_moment(seconds: float | None) -> float:
    """Where a job's pair is taken: one second in, or mid-clip for shorter sources."""
    if seconds is None:
        return 0.5
    return max(0.0, min(1.0, seconds / 2))


def s3_grab(s3: S3Client | None, width: int = WIDTH, http: httpx.Client | None = None) -> Grab:
    """A `Grab` that reads a small ``s3://`` object whole in one GET (a provider's render is a
    few MB: far cheaper than FFmpeg's range reads over HTTP) and signs a large one for range
    reads; ``http`` serves URLs (one client for every shot)."""

    def grab(location: str, at_s: float) -> bytes:
        # Imported here: PyAV costs a worker that never takes a frame ~18 MB of memory.
        from media.frames import frame_png

        if not location.startswith("s3://"):
            return frame_png(location, at_s, width, http=http, timeout_s=READ_TIMEOUT_S)
        if s3 is None:
            raise ValueError("S3 is not configured")
        bucket, key = parse_s3_uri(location)
        try:
            answer = s3.get_object(Bucket=bucket, Key=key)
        except s3.exceptions.NoSuchKey:
            raise ProbeError(location, "HTTP 404") from None
        body = answer["Body"]
        if answer["ContentLength"] <= WHOLE_READ_BYTES:
            return frame_png(io.BytesIO(body.read()), at_s, width)
        body.close()
        signed = presign_get(s3, bucket, key, SIGNED_TTL_S)
        return frame_png(signed, at_s, width, http=http, timeout_s=READ_TIMEOUT_S)

    return grab


def store_thumbnails(s3: S3Client, output_uri: str, shots: Sequence[Shot], grab: Grab) -> int:
    """Take ``shots`` and put each next to ``output_uri``; how many were stored."""
    bucket, key = parse_s3_uri(output_uri)
    stored = 0
    for shot in shots:
        try:
            png = grab(shot.location, shot.at_s)
            s3.put_object(Bucket=bucket, Key=thumbnail_key(key, shot.name), Body=png,
                          ContentType="image/png")  # fmt: skip
        except (ProbeError, ValueError) as exc:
            log.info("no %s frame for %s: %s", shot.name, output_uri, exc)
            continue
        except Exception as exc:  # S3 or network trouble: the output stands without its frames
            log.warning("no %s frame for %s: %s", shot.name, output_uri, type(exc).__name__)
            break  # the others would meet the same trouble; pages take them on demand
        stored += 1
    return stored


def read_thumbnail(s3: S3Client, output_uri: str, name: str) -> bytes | None:
    """The stored frame ``name`` of ``output_uri``, or None when there is none."""
    bucket, key = parse_s3_uri(output_uri)
    try:
        answer = s3.get_object(Bucket=bucket, Key=thumbnail_key(key, name))
    except s3.exceptions.NoSuchKey:
        return None
    body: bytes = answer["Body"].read()
    return body
