"""Writers of segment MP4s: one shared encoder for segments that only touch, one per segment
where they overlap. `media.cutting` feeds them constant-rate frames."""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import av
from av.video.frame import PictureType

from media.normalise import EncodeTarget

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
class Span:
    """A segment in output frames (at the target's rate)."""

    index: int
    first: int
    end: int
    path: Path


def file_sha256(path: Path) -> str:
    """The hex sha256 of the file at ``path``, read in chunks."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def encoder_options(target: EncodeTarget) -> dict[str, object]:
    """libx264 options: constant quality, capped by the target's bitrate (VBV)."""
    return {
        "preset": PRESET,
        "crf": CRF,
        "maxrate": str(target.max_bitrate),
        "bufsize": str(target.max_bitrate),
    }


class SegmentWriter(Protocol):
    """Takes frame ``k`` of the output timeline; `finish` returns the written segments."""

    written: int

    def add(self, picture: Any, k: int) -> None: ...
    def finish(self) -> list[CutSegment]: ...
    def abandon(self) -> None: ...


class _Output:
    """One segment's MP4 (every frame of its span is written to it)."""

    def __init__(self, span: Span) -> None:
        self.span = span
        self.container = av.open(str(span.path), mode="w", format="mp4")
        self.stream: Any = None

    def encoder(self, target: EncodeTarget, options: dict[str, object]) -> Any:
        self.stream = self.container.add_stream("libx264", rate=target.fps)
        self.stream.width, self.stream.height = target.frame
        self.stream.pix_fmt = "yuv420p"
        self.stream.options = options
        return self.stream

    def result(self, target: EncodeTarget) -> CutSegment:
        self.container.close()
        path = self.span.path
        return CutSegment(
            index=self.span.index,
            path=path,
            frames=self.span.end - self.span.first,
            duration_s=float((self.span.end - self.span.first) / target.fps),
            fps=target.fps,
            width=target.frame[0],
            height=target.frame[1],
            size_bytes=path.stat().st_size,
            sha256=file_sha256(path),
        )

    def abandon(self) -> None:
        self.container.close()
        self.span.path.unlink(missing_ok=True)


class ChainedWriter:
    """Segments that only touch share one encoder, so it never drains or restarts at a seam.

    Each segment starts on a forced IDR frame (GOPs are closed), and every packet goes to the
    file of the segment its timestamp falls in, shifted to start at zero there. Packets come in
    decode order, so a segment's file is complete, and closed, when the next one's first packet
    arrives: at most two files are open (the first, which owns the encoder, and the current).
    """

    def __init__(self, spans: Sequence[Span], target: EncodeTarget) -> None:
        self.target, self.spans = target, spans
        self.starts = [span.first for span in spans]
        self.first = _Output(spans[0])
        self.encoder = self.first.encoder(target, {**encoder_options(target), "forced-idr": "1"})
        self.current: _Output | None = None
        self.done: list[CutSegment] = []
        self.written = 0

    def add(self, picture: Any, k: int) -> None:
        index = bisect.bisect_right(self.starts, k) - 1
        picture.pts, picture.time_base = k, 1 / self.target.fps
        seam = k == self.starts[index]
        picture.pict_type = PictureType.I if seam else PictureType.NONE
        self._route(self.encoder.encode(picture))
        self.written = k + 1

    def _route(self, packets: Sequence[Any]) -> None:
        for packet in packets:
            output = self._output_for(bisect.bisect_right(self.starts, packet.pts) - 1)
            packet.pts -= output.span.first
            if packet.dts is not None:
                packet.dts -= output.span.first
            packet.stream = output.stream
            output.container.mux(packet)

    def _output_for(self, index: int) -> _Output:
        if index == 0:
            return self.first
        if self.current is None or self.current.span is not self.spans[index]:
            self._close_current()
            self.current = _Output(self.spans[index])
            self.current.stream = self.current.container.add_stream_from_template(self.encoder)
        return self.current

    def _close_current(self) -> None:
        if self.current is not None:
            self.done.append(self.current.result(self.target))
            self.current = None

    def finish(self) -> list[CutSegment]:
        self._route(self.encoder.encode(None))
        self._close_current()
        return [self.first.result(self.target), *self.done]

    def abandon(self) -> None:
        if self.current is not None:
            self.current.abandon()
        self.first.abandon()


class OverlappingWriter:
    """Overlapping segments: one encoder per segment, at most two open at once."""

    def __init__(self, spans: Sequence[Span], target: EncodeTarget) -> None:
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
