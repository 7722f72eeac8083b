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
    """One segment's MP4: its container, and the frames sent to it."""

    def __init__(self, span: Span) -> None:
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


class ChainedWriter:
    """Segments that only touch share one encoder, so it never drains or restarts at a seam.

    Each segment starts on a forced IDR frame (GOPs are closed), and every packet goes to the
    file of the segment its timestamp falls in, shifted to start at zero there.
    """

    def __init__(self, spans: Sequence[Span], target: EncodeTarget) -> None:
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
