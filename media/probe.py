"""`probe`: what a source video is (container, codec, duration, size, frame rate), cheaply.

Only the container header is read: for a URL that is a few Range requests, not the file.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

from media.errors import ProbeError
from media.opening import DEFAULT_TIMEOUT_S, MediaSource, Opened, open_media

__all__ = ["ProbeError", "VideoInfo", "probe"]

WEBM_CODECS = frozenset({"vp8", "vp9", "av1", "opus", "vorbis"})
MICROSECONDS = 1_000_000
VFR_TOLERANCE = 0.01


class VideoInfo(BaseModel):
    """A source video as the providers' limits see it. ``size_bytes`` is None when unknown.

    ``fps`` is the average rate; ``base_fps`` the stream's own (FFmpeg's r_frame_rate), which
    differs from it when the frame rate is variable (``variable_rate``).
    """

    model_config = ConfigDict(frozen=True)

    container: str
    codec: str
    duration_s: float
    width: int
    height: int
    size_bytes: int | None
    fps: float | None
    base_fps: float | None = None
    variable_rate: bool = False
    has_audio: bool = False
    """The providers' edits come back silent: a source with sound is stitched back with it."""
    pixel_aspect: float = 1.0
    """The sample aspect ratio (1 for square pixels): the picture is this much wider on screen."""
    timecode: str | None = None
    """The start timecode the file carries (a camera's, or a tmcd track's), as written."""


def probe(
    source: MediaSource, *, http: httpx.Client | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
) -> VideoInfo:
    """Probe a local path, an http(s) URL (presigned S3 included) or a binary file object.

    Raises `ProbeError` when the source is missing, unreachable, empty, not a video, or has no
    known duration; ``ProbeError.temporary`` says whether a later try may work.
    """
    with open_media(source, http=http, timeout_s=timeout_s) as opened:
        return describe_video(opened)


def describe_video(opened: Opened) -> VideoInfo:
    """The `VideoInfo` of an open container's first video stream."""
    container = opened.container
    if not container.streams.video:
        raise ProbeError(opened.where, "no video stream")
    stream = container.streams.video[0]
    duration = duration_of(container, stream)
    if duration is None:
        raise ProbeError(opened.where, "the container does not say how long the video is")
    return VideoInfo(
        container=container_name(container),
        codec=stream.codec_context.name,
        duration_s=duration,
        width=stream.codec_context.width,
        height=stream.codec_context.height,
        size_bytes=opened.size_bytes,
        fps=frame_rate(stream),
        base_fps=float(stream.base_rate) if stream.base_rate else None,
        variable_rate=is_variable_rate(stream),
        has_audio=bool(container.streams.audio),
        pixel_aspect=pixel_aspect(stream),
        timecode=start_timecode(container),
    )


def pixel_aspect(stream: Any) -> float:
    """The stream's sample aspect ratio, 1.0 when it says none (0/1 or missing)."""
    sar = stream.codec_context.sample_aspect_ratio or stream.sample_aspect_ratio
    return float(sar) if sar else 1.0


def start_timecode(container: Any) -> str | None:
    """The ``timecode`` tag of the first stream that has one, or of the container."""
    for stream in container.streams:
        found = stream.metadata.get("timecode")
        if found:
            return str(found)
    found = container.metadata.get("timecode")
    return str(found) if found else None


def duration_of(container: Any, stream: Any) -> float | None:
    """Seconds, from the container or else the stream; None when neither knows."""
    if container.duration is not None and container.duration > 0:
        return float(container.duration / MICROSECONDS)
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return None


def frame_rate(stream: Any) -> float | None:
    """The average frame rate, or FFmpeg's guess, or None."""
    rate = stream.average_rate or stream.guessed_rate
    return float(rate) if rate else None


def is_variable_rate(stream: Any) -> bool:
    """True when the average frame rate differs from the stream's own by more than 1%."""
    average, base = stream.average_rate, stream.base_rate
    if not average or not base:
        return False
    return bool(abs(float(average) / float(base) - 1) > VFR_TOLERANCE)


def container_name(container: Any) -> str:
    """A short container name as providers list them: mp4, mov, webm, mkv, avi, ..."""
    names = container.format.name.split(",")
    if "mov" in names:
        brand = str(container.metadata.get("major_brand", "")).strip()
        return "mov" if brand == "qt" else "mp4"
    if "matroska" in names:
        codecs = {stream.codec_context.name for stream in container.streams}
        return "webm" if codecs <= WEBM_CODECS else "mkv"
    return str(names[0])
