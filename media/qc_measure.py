"""`measure`: the frame statistics `media.qc` judges, decoded from a render and its input.

Every frame is decoded (a frozen or black stretch can be anywhere) but kept only as luma at
`CHECK_SIZE`: 3 KB a frame, so a 30 s render holds under 3 MB however large its frames are.
Both files are read as streams (a local path, or a URL over HTTP ranges), never whole. The
input is retimed onto the render's frame rate, so frame k of each shows the same instant.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import av
import httpx
import numpy as np
import numpy.typing as npt

from media.errors import ProbeError
from media.normalise import as_rate
from media.opening import MediaSource, open_media
from media.qc import DEFAULT_THRESHOLDS, FrameStats, RenderStats, Thresholds
from media.retime import constant_rate

CHECK_SIZE = (64, 48)
Luma = npt.NDArray[np.int16]
FALLBACK_FPS = Fraction(24)


def measure(
    render: MediaSource,
    source: MediaSource | None = None,
    *,
    http: httpx.Client | None = None,
    limits: Thresholds = DEFAULT_THRESHOLDS,
) -> tuple[RenderStats, RenderStats | None]:
    """The statistics of ``render``, and of ``source`` (the input it was sent) at the same
    times, with the render's difference from it. The source's are None when ``source`` is
    None or unreadable (its checks are then skipped); a render that is not a video is
    ``RenderStats(video=False)``. Raises `ProbeError` (``temporary``) when the render could
    not be read for now (a timeout, a 5xx): that says nothing of the render."""
    try:
        fps, lumas = _render_lumas(render, http)
    except ProbeError as exc:
        if exc.temporary:
            raise
        return RenderStats(video=False, fps=FALLBACK_FPS), None
    stats = RenderStats(True, fps, tuple(_stats(lumas, limits)))
    if source is None or not lumas:
        return stats, None
    try:
        source_lumas = _source_lumas(source, fps, len(lumas), http)
    except ProbeError:
        return stats, None
    pairs = list(zip(lumas, source_lumas, strict=False))
    diff = float(np.mean([np.abs(a - b).mean() for a, b in pairs])) if pairs else None
    source_stats = RenderStats(True, fps, tuple(_stats(source_lumas, limits)))
    return RenderStats(True, fps, stats.frames, diff), source_stats


def _render_lumas(render: MediaSource, http: httpx.Client | None) -> tuple[Fraction, list[Luma]]:
    with open_media(render, http=http) as opened:
        container = opened.container
        if not container.streams.video:
            raise ProbeError(opened.where, "no video stream")
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        fps = as_rate(rate) if rate else FALLBACK_FPS
        return fps, list(_lumas(_decoded(container, stream, opened.where)))


def _source_lumas(
    source: MediaSource, fps: Fraction, count: int, http: httpx.Client | None
) -> list[Luma]:
    with open_media(source, http=http) as opened:
        container = opened.container
        if not container.streams.video:
            raise ProbeError(opened.where, "no video stream")
        frames = _decoded(container, container.streams.video[0], opened.where)
        return list(_lumas(frame for _, frame in constant_rate(frames, fps, count)))


def _decoded(container: Any, stream: Any, where: str) -> Iterator[Any]:
    try:
        yield from container.decode(stream)
    except av.FFmpegError as exc:
        raise ProbeError(where, f"cannot decode: {exc.strerror}") from exc


def _lumas(frames: Any) -> Iterator[Luma]:
    width, height = CHECK_SIZE
    for frame in frames:
        small = frame.reformat(
            width=width, height=height, format="gray", interpolation="FAST_BILINEAR"
        )
        yield np.asarray(small.to_ndarray(), dtype=np.int16)


def sharpness(luma: Luma) -> float:
    """The mean absolute Laplacian: fine detail, which a blur removes (a mean gradient would
    not tell a soft edge from a sharp one)."""
    middle = luma[1:-1, 1:-1] * 4
    edges = luma[:-2, 1:-1] + luma[2:, 1:-1] + luma[1:-1, :-2] + luma[1:-1, 2:]
    return float(np.abs(middle - edges).mean())


def _stats(lumas: list[Luma], limits: Thresholds) -> Iterator[FrameStats]:
    before: Luma | None = None
    for luma in lumas:
        black = float(np.mean(luma < limits.black_pixel))
        detail = sharpness(luma)
        change = None if before is None else float(np.abs(luma - before).mean())
        yield FrameStats(black, detail, change)
        before = luma
