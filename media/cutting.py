"""`cut_segments`: one pass over a source that writes one H.264 MP4 per planned segment.

The source is decoded once, streamed (one decoded frame held, at most two encoders open where
segments overlap), retimed onto a constant frame rate and re-encoded frame-accurately: a stream
copy could only cut on keyframes, which drops or repeats frames at the seams. The same pass
normalises what a provider cannot take (ProRes/DNxHD MOV, 4K, variable frame rate, too many
bytes) into the `EncodeTarget` chosen for it; `normalise_video` does that for a whole clip.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import httpx

from media.errors import ProbeError
from media.normalise import EncodeTarget, as_rate
from media.plan import Segment, SegmentPlan
from media.probe import describe_video
from media.retime import constant_rate
from media.source import DEFAULT_TIMEOUT_S, MediaSource, open_media

PRESET = "veryfast"
CRF = "20"


@dataclass(frozen=True)
class CutSegment:
    """One written segment: ``frames`` at ``fps``, ``width`` x ``height``, and its sha256."""

    index: int
    path: Path
    frames: int
    duration_s: float
    fps: Fraction
    width: int
    height: int
    size_bytes: int
    sha256: str


@dataclass(frozen=True)
class _Span:
    """A segment in output frames (at the target's rate)."""

    index: int
    first: int
    end: int
    path: Path


def file_sha256(path: Path) -> str:
    """The hex sha256 of the file at ``path``, read in chunks."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


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
        frames = _video_frames(opened.container, opened.where)
        return _write(frames, spans, target, opened.where)


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
        (cut,) = _write(frames_in, [_Span(0, 0, frames, dest)], target, opened.where)
        return cut


def _span(segment: Segment, ratio: Fraction, folder: Path) -> _Span:
    first, end = round(segment.start * ratio), round(segment.end * ratio)
    return _Span(segment.index, first, end, segment_path(folder, segment.index))


def _video_frames(container: Any, where: str) -> Iterator[Any]:
    if not container.streams.video:
        raise ProbeError(where, "no video stream")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    try:
        yield from container.decode(stream)
    except av.FFmpegError as exc:
        raise ProbeError(where, f"cannot decode: {exc.strerror or type(exc).__name__}") from exc


def _write(
    frames: Iterator[Any], spans: Sequence[_Span], target: EncodeTarget, where: str
) -> list[CutSegment]:
    total = max(span.end for span in spans)
    pending = sorted(spans, key=lambda span: span.first)
    open_: list[_Encoder] = []
    done: list[CutSegment] = []
    for k, frame in constant_rate(frames, target.fps, total):
        while pending and pending[0].first == k:
            open_.append(_Encoder(pending.pop(0), target))
        picture = frame.reformat(width=target.width, height=target.height, format="yuv420p")
        for encoder in open_:
            encoder.add(picture, k)
        done.extend(encoder.close() for encoder in open_ if encoder.span.end == k + 1)
        open_ = [encoder for encoder in open_ if encoder.span.end != k + 1]
    if pending or open_:
        for encoder in open_:
            encoder.abandon()
        raise ProbeError(where, "the video has no decodable frames")
    return sorted(done, key=lambda cut: cut.index)


class _Encoder:
    """One segment's MP4 being written."""

    def __init__(self, span: _Span, target: EncodeTarget) -> None:
        self.span, self.target = span, target
        self.output = av.open(str(span.path), mode="w", format="mp4")
        self.stream = self.output.add_stream("libx264", rate=target.fps)
        self.stream.width, self.stream.height = target.width, target.height
        self.stream.pix_fmt = "yuv420p"
        self.stream.options = encoder_options(target)
        self.frames = 0

    def add(self, picture: Any, k: int) -> None:
        picture.pts = k - self.span.first
        picture.time_base = 1 / self.target.fps
        self.output.mux(self.stream.encode(picture))
        self.frames += 1

    def close(self) -> CutSegment:
        self.output.mux(self.stream.encode(None))
        self.output.close()
        path = self.span.path
        return CutSegment(
            index=self.span.index,
            path=path,
            frames=self.frames,
            duration_s=float(self.frames / self.target.fps),
            fps=self.target.fps,
            width=self.target.width,
            height=self.target.height,
            size_bytes=path.stat().st_size,
            sha256=file_sha256(path),
        )

    def abandon(self) -> None:
        self.output.close()
        self.span.path.unlink(missing_ok=True)


def encoder_options(target: EncodeTarget) -> dict[str, object]:
    """libx264 options: constant quality, capped by the target's bitrate (VBV)."""
    return {
        "preset": PRESET,
        "crf": CRF,
        "maxrate": str(target.max_bitrate),
        "bufsize": str(target.max_bitrate),
    }
