"""`frame_png`: one frame of a video as a PNG (for reports' before/after pictures)."""

from __future__ import annotations

from typing import Any

import av
import httpx

from media.errors import ProbeError
from media.opening import DEFAULT_TIMEOUT_S, MediaSource, open_media


def frame_png(
    source: MediaSource,
    at_s: float = 1.0,
    max_width: int = 480,
    *,
    http: httpx.Client | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> bytes:
    """The frame shown at ``at_s`` seconds (the last one if the video is shorter) as a PNG.

    Frames wider than ``max_width`` are scaled down, keeping the aspect ratio. Raises
    `ProbeError` like `media.probe.probe`, and when no frame can be decoded.
    """
    if max_width < 1:
        raise ValueError(f"max_width must be positive, not {max_width}")
    with open_media(source, http=http, timeout_s=timeout_s) as opened:
        if not opened.container.streams.video:
            raise ProbeError(opened.where, "no video stream")
        try:
            frame = frame_at(opened.container, max(0.0, at_s))
        except av.FFmpegError as exc:
            raise ProbeError(opened.where, f"cannot decode: {exc.strerror}") from exc
        if frame is None:
            raise ProbeError(opened.where, "no frame could be decoded")
        return encode_png(scaled(frame, max_width))


def frame_at(container: Any, at_s: float) -> Any | None:
    """The first decoded frame at or after ``at_s``, else the last frame; None if none."""
    stream = container.streams.video[0]
    container.seek(int(at_s * 1_000_000), backward=True)
    last = None
    for frame in container.decode(stream):
        last = frame
        if frame.time is not None and frame.time >= at_s:
            break
    return last


def scaled(frame: Any, max_width: int) -> Any:
    """``frame`` as RGB, no wider than ``max_width``."""
    width = min(max_width, frame.width)
    height = max(1, round(frame.height * width / frame.width))
    return frame.reformat(width=width, height=height, format="rgb24")


def encode_png(frame: Any) -> bytes:
    """An RGB frame as PNG bytes, with FFmpeg's own encoder (no Pillow needed)."""
    encoder = av.CodecContext.create("png", "w")
    encoder.width, encoder.height, encoder.pix_fmt = frame.width, frame.height, "rgb24"
    packets = [*encoder.encode(frame), *encoder.encode(None)]
    return b"".join(bytes(packet) for packet in packets)
