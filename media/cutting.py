"""`cut_segments`: one pass over a source that writes one H.264 MP4 per planned segment.

The source is decoded once and streamed (one decoded frame held; one encoder shared by segments
that only touch, at most two open where segments overlap: see `media.writers`), retimed onto a
constant frame rate and re-encoded frame-accurately: a stream copy could only cut on keyframes,
which drops or repeats frames at the seams. The same pass normalises what a provider cannot
take (ProRes/DNxHD MOV, 4K, variable frame rate, too many bytes) into the `EncodeTarget` chosen
for it; `normalise_video` does that for a whole clip.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
from av.video.frame import PictureType

from media.conform import Placement
from media.errors import ProbeError
from media.normalise import EncodeTarget, as_rate
from media.opening import DEFAULT_TIMEOUT_S, MediaSource, open_media
from media.plan import Segment, SegmentPlan
from media.probe import describe_video
from media.retime import constant_rate
from media.writers import (
    CRF,
    PRESET,
    ChainedWriter,
    CutSegment,
    OverlappingWriter,
    SegmentWriter,
    Span,
    encoder_options,
    file_sha256,
)

__all__ = [
    "CRF",
    "PRESET",
    "CutSegment",
    "cut_segments",
    "encoder_options",
    "file_sha256",
    "normalise_video",
    "segment_path",
]


def segment_path(folder: Path, index: int) -> Path:
    """Where segment ``index`` is written: ``folder/NNN.mp4``."""
    return folder / f"{index:03d}.mp4"


def cut_segments(
    source: MediaSource,
    plan: SegmentPlan,
    target: EncodeTarget,
    folder: Path,
    *,
    http: httpx.Client | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> list[CutSegment]:
    """Write every segment of ``plan`` as ``folder/NNN.mp4`` encoded to ``target``.

    Raises `ProbeError` when ``source`` cannot be opened, has no video stream or no frame.
    """
    folder.mkdir(parents=True, exist_ok=True)
    ratio = target.fps / as_rate(plan.fps)
    spans = [_span(segment, ratio, folder) for segment in plan.segments]
    with open_media(source, http=http, timeout_s=timeout_s) as opened:
        first = min(span.first for span in spans)
        frames, origin, start = _frames_from(
            opened.container, opened.where, float(first / target.fps), first
        )
        return _write(frames, spans, target, opened.where, (origin, start))


def normalise_video(
    source: MediaSource,
    target: EncodeTarget,
    dest: Path,
    frames: int | None = None,
    *,
    http: httpx.Client | None = None,
) -> CutSegment:
    """``source`` (its first ``frames`` frames at ``target.fps``) as one MP4 at ``dest``.

    Raises `ProbeError` like `cut_segments`.
    """
    with open_media(source, http=http) as opened:
        if frames is None:
            frames = max(1, round(describe_video(opened).duration_s * target.fps))
        frames_in = _video_frames(opened.container, opened.where)
        (cut,) = _write(frames_in, [Span(0, 0, frames, dest)], target, opened.where)
        return cut


def _span(segment: Segment, ratio: Fraction, folder: Path) -> Span:
    first, end = round(segment.start * ratio), round(segment.end * ratio)
    return Span(segment.index, first, end, segment_path(folder, segment.index))


def _video_frames(container: Any, where: str) -> Iterator[Any]:
    """The decoded frames of the first video stream; refused before any file is written."""
    return _decoded(container, _video_stream(container, where), where)


def _video_stream(container: Any, where: str) -> Any:
    if not container.streams.video:
        raise ProbeError(where, "no video stream")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    return stream


SEEK_AFTER_S = 4.0
"""A range starting this far into its source is reached by a seek to a keyframe before it, not
by decoding every frame up to it (a shot at minute 50 of an hour-long master)."""
SEEK_MARGIN_S = 1.0
"""How far before the range the seek aims, so the frames either side of its first are decoded
and each output frame is the one decoding from the start would give."""


def _frames_from(
    container: Any, where: str, skip_s: float, first: int
) -> tuple[Iterator[Any], float | None, int]:
    """The source's frames from a keyframe before ``skip_s`` (seconds past its first frame),
    with that first frame's time and the output frame they start at; from the start (None, 0)
    for a range near it or a stream whose frames carry no time. A seek that lands past the
    range (a file without a usable index) is undone: decoding restarts from the first frame."""
    stream = _video_stream(container, where)
    decoded = _decoded(container, stream, where)
    if skip_s < SEEK_AFTER_S:
        return decoded, None, 0
    head = next(decoded, None)
    if head is None or head.time is None:
        return itertools.chain([head] if head is not None else [], decoded), None, 0
    origin = float(head.time)
    aim = origin + skip_s - SEEK_MARGIN_S
    container.seek(round(aim / stream.time_base), stream=stream, backward=True)
    sought = _decoded(container, stream, where)
    landed = next(sought, None)
    if landed is not None and landed.time is not None and float(landed.time) <= aim:
        return itertools.chain([landed], sought), origin, first
    container.seek(round(origin / stream.time_base), stream=stream, backward=True)
    return _decoded(container, stream, where), None, 0


def _decoded(container: Any, stream: Any, where: str) -> Iterator[Any]:
    try:
        yield from container.decode(stream)
    except av.FFmpegError as exc:
        raise ProbeError(where, f"cannot decode: {exc.strerror or type(exc).__name__}") from exc


def _write(
    frames: Iterator[Any],
    spans: Sequence[Span],
    target: EncodeTarget,
    where: str,
    sought: tuple[float | None, int] = (None, 0),
) -> list[CutSegment]:
    ordered = sorted(spans, key=lambda span: span.first)
    writer = writer_for(ordered, target)
    origin, first = sought
    try:
        timed = constant_rate(frames, target.fps, ordered[-1].end, origin=origin, first=first)
        for k, frame in timed:
            if k < ordered[0].first:  # before an edited range (a timeline's shot)
                continue
            picture = frame.reformat(width=target.width, height=target.height, format="yuv420p")
            if target.placement is not None:
                picture = padded(picture, target.placement)
            # The decoder's picture type would be forced on x264: every frame of an all-intra
            # ProRes master would become a keyframe.
            picture.pict_type = PictureType.NONE
            writer.add(picture, k)
        if writer.written < ordered[-1].end:
            raise ProbeError(where, "the video has no decodable frames")
        cuts = writer.finish()
    except BaseException:
        writer.abandon()
        raise
    return sorted(cuts, key=lambda cut: cut.index)


def padded(picture: Any, placement: Placement) -> Any:
    """``picture`` (yuv420p) centred in black bars to ``placement``'s frame (`media.conform`)."""
    planes = picture.to_ndarray()  # yuv420p: the Y rows, then U and V as half-width rows
    width, height = placement.width, placement.height
    frame_w, frame_h = placement.frame_width, placement.frame_height
    out = np.empty((frame_h * 3 // 2, frame_w), dtype=np.uint8)
    luma, chroma = out[:frame_h], out[frame_h:].reshape(2, frame_h // 2, frame_w // 2)
    luma[:] = 16  # video-range black
    chroma[:] = 128
    top, left = placement.top, placement.left
    luma[top : top + height, left : left + width] = planes[:height]
    source = planes[height:].reshape(2, height // 2, width // 2)
    chroma[:, top // 2 : (top + height) // 2, left // 2 : (left + width) // 2] = source
    return av.VideoFrame.from_ndarray(out, format="yuv420p")


def writer_for(spans: Sequence[Span], target: EncodeTarget) -> SegmentWriter:
    """The shared-encoder writer, unless segments overlap."""
    overlapping = any(b.first < a.end for a, b in itertools.pairwise(spans))
    return OverlappingWriter(spans, target) if overlapping else ChainedWriter(spans, target)
