"""`cut_segments`: one pass over a source that writes one H.264 MP4 per planned segment.

The source is decoded once, streamed (one decoded frame held, at most two encoders open where
segments overlap), retimed onto a constant frame rate and re-encoded frame-accurately: a stream
copy could only cut on keyframes, which drops or repeats frames at the seams. The same pass
normalises what a provider cannot take (ProRes/DNxHD MOV, 4K, variable frame rate, too many
bytes) into the `EncodeTarget` chosen for it; `normalise_video` does that for a whole clip.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import av
import httpx
from av.video.frame import PictureType

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
    ordered = sorted(spans, key=lambda span: span.first)
    overlapping = any(b.first < a.end for a, b in itertools.pairwise(ordered))
    writer: _Writer = _Overlapping(ordered, target) if overlapping else _Chained(ordered, target)
    try:
        for k, frame in constant_rate(frames, target.fps, ordered[-1].end):
            picture = frame.reformat(width=target.width, height=target.height, format="yuv420p")
            writer.add(picture, k)
        if writer.written < ordered[-1].end:
            raise ProbeError(where, "the video has no decodable frames")
        cuts = writer.finish()
    except BaseException:
        writer.abandon()
        raise
    return sorted(cuts, key=lambda cut: cut.index)


class _Writer(Protocol):
    written: int

    def add(self, picture: Any, k: int) -> None: ...
    def finish(self) -> list[CutSegment]: ...
    def abandon(self) -> None: ...


class _Output:
    """One segment's MP4: its container, and the frames sent to it."""

    def __init__(self, span: _Span) -> None:
        self.span = span
        self.container = av.open(str(span.path), mode="w", format="mp4")
        self.stream: Any = None
        self.frames = 0

    def encoder(self, target: EncodeTarget, options: dict[str, object]) -> Any:
        self.stream = self.container.add_stream("libx264", rate=target.fps)
        self.stream.width, self.stream.height = target.width, target.height
        self.stream.pix_fmt = "yuv420p"
        self.stream.options = options
        return self.stream

    def result(self, target: EncodeTarget) -> CutSegment:
        self.container.close()
        path = self.span.path
        return CutSegment(
            index=self.span.index,
            path=path,
            frames=self.frames,
            duration_s=float(self.frames / target.fps),
            fps=target.fps,
            width=target.width,
            height=target.height,
            size_bytes=path.stat().st_size,
            sha256=file_sha256(path),
        )

    def abandon(self) -> None:
        self.container.close()
        self.span.path.unlink(missing_ok=True)


class _Chained:
    """Segments that only touch share one encoder, so it never drains or restarts at a seam.

    Each segment starts on a forced IDR frame (GOPs are closed), and every packet goes to the
    file of the segment its timestamp falls in, shifted to start at zero there.
    """

    def __init__(self, spans: Sequence[_Span], target: EncodeTarget) -> None:
        self.target = target
        self.outputs = [_Output(span) for span in spans]
        self.starts = [span.first for span in spans]
        options = {**encoder_options(target), "forced-idr": "1"}
        self.encoder = self.outputs[0].encoder(target, options)
        self.written = 0

    def add(self, picture: Any, k: int) -> None:
        index = bisect.bisect_right(self.starts, k) - 1
        self.outputs[index].frames += 1
        picture.pts, picture.time_base = k, 1 / self.target.fps
        seam = k == self.starts[index]
        picture.pict_type = PictureType.I if seam else PictureType.NONE
        self._route(self.encoder.encode(picture))
        self.written = k + 1

    def _route(self, packets: Sequence[Any]) -> None:
        for packet in packets:
            output = self.outputs[bisect.bisect_right(self.starts, packet.pts) - 1]
            if output.stream is None:
                output.stream = output.container.add_stream_from_template(self.encoder)
            packet.pts -= output.span.first
            if packet.dts is not None:
                packet.dts -= output.span.first
            packet.stream = output.stream
            output.container.mux(packet)

    def finish(self) -> list[CutSegment]:
        self._route(self.encoder.encode(None))
        # The first file owns the encoder: close it last.
        return [output.result(self.target) for output in reversed(self.outputs)]

    def abandon(self) -> None:
        for output in reversed(self.outputs):
            output.abandon()


class _Overlapping:
    """Overlapping segments: one encoder per segment, at most two open at once."""

    def __init__(self, spans: Sequence[_Span], target: EncodeTarget) -> None:
        self.target = target
        self.pending = list(spans)
        self.open: list[_Output] = []
        self.done: list[CutSegment] = []
        self.written = 0

    def add(self, picture: Any, k: int) -> None:
        while self.pending and self.pending[0].first == k:
            output = _Output(self.pending.pop(0))
            output.encoder(self.target, encoder_options(self.target))
            self.open.append(output)
        for output in self.open:
            picture.pts, picture.time_base = k - output.span.first, 1 / self.target.fps
            output.container.mux(output.stream.encode(picture))
            output.frames += 1
        for output in [output for output in self.open if output.span.end == k + 1]:
            output.container.mux(output.stream.encode(None))
            self.done.append(output.result(self.target))
            self.open.remove(output)
        self.written = k + 1

    def finish(self) -> list[CutSegment]:
        return self.done

    def abandon(self) -> None:
        for output in self.open:
            output.abandon()


def encoder_options(target: EncodeTarget) -> dict[str, object]:
    """libx264 options: constant quality, capped by the target's bitrate (VBV)."""
    return {
        "preset": PRESET,
        "crf": CRF,
        "maxrate": str(target.max_bitrate),
        "bufsize": str(target.max_bitrate),
    }
