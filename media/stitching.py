"""`stitch_segments`: edited segments back into one clip with the source's timing and sound.

Each provider output is retimed onto the source's constant frame rate over exactly the frames
its segment was cut from, its overlap trimmed, scaled to one frame size and encoded into one
H.264 stream. The source's own audio is re-muxed alongside, interleaved as the video is written:
copied where MP4 can carry it, AAC otherwise, and cut to the video's length. A provider that
trimmed or padded a segment is reported in `StitchResult.mismatches`.

Seams (see `SeamSettings`): the frames a segment was sent before its own (``fade_in``) are
crossfaded over the last frames of the segment before, and every segment after the first is
colour-matched onto the one before it (so, step by step, onto segment 1): the transfer is
measured on the frames either side of its seam (the very same source frames when they
overlap) and applied to all of that segment's frames alike. A seam on a scene cut is left as
the cut it is: no crossfade, no colour match, never flagged. Every written frame is measured,
and `StitchResult.seams` holds each seam's score.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import httpx
import numpy as np
from av.video.frame import PictureType

from config.settings import DEFAULT_SEAMS, SeamSettings
from media.audio import AudioTrack
from media.colour import (
    IDENTITY,
    ColourStats,
    Plane,
    Planes,
    Transfer,
    apply_to_yuv420p,
    colour_stats,
    transfer,
    yuv420p_planes,
)
from media.conform import Placement, conform_plan
from media.cutting import PRESET, file_sha256
from media.errors import ProbeError
from media.normalise import as_rate
from media.opening import MediaSource, Opened, open_media
from media.plan import Segment, SegmentPlan
from media.probe import describe_video
from media.retime import constant_rate
from media.seams import SeamMeter, SeamScore, crossfade
from media.tags import carry_tags, source_rotation

STITCH_CRF = "18"
MATCH_FRAMES = 1
"""Frames either side of a seam without overlap that its colour transfer is measured on: the
nearest, whose content differs least (wider windows measure the motion too; on the tests'
panning pattern a steady seam is left at 1.27x the ordinary change with 3 frames, 2.8x with 6)."""


@dataclass(frozen=True)
class Mismatch:
    """Segment ``index`` came back ``actual_s`` long where ``expected_s`` was sent."""

    index: int
    expected_s: float
    actual_s: float


@dataclass(frozen=True)
class StitchResult:
    """The stitched clip at ``path``; ``audio`` is how its sound got there (or None)."""

    path: Path
    frames: int
    duration_s: float
    fps: Fraction
    width: int
    height: int
    size_bytes: int
    sha256: str
    audio: Literal["copy", "aac"] | None
    mismatches: tuple[Mismatch, ...]
    seams: tuple[SeamScore, ...] = ()


def check_length(index: int, expected_s: float, actual_s: float, fps: Fraction) -> Mismatch | None:
    """A `Mismatch` when ``actual_s`` differs from ``expected_s`` by more than one frame."""
    if abs(actual_s - expected_s) > float(1 / fps) + 1e-6:
        return Mismatch(index, expected_s, actual_s)
    return None


def stitch_segments(
    outputs: Sequence[MediaSource],
    plan: SegmentPlan,
    source: MediaSource,
    dest: Path,
    *,
    size: Literal["source", "model"] = "source",
    placement: Placement | None = None,
    http: httpx.Client | None = None,
    handling: SeamSettings = DEFAULT_SEAMS,
    timecode: str | None = None,
) -> StitchResult:
    """Stitch ``outputs`` (one per segment of ``plan``, in order) into ``dest`` (an MP4).

    ``size`` "source" brings every output back to the source's frame size (`media.conform`:
    mapped onto ``placement``, the padded frame the segments were sent as, and the padding
    cropped off; never stretched), "model" keeps the first output's.
    The source's pixel aspect, colour tags, rotation, start timecode and creation time are
    carried over, so an editor relinks the result like the source.
    ``handling`` says whether segments are colour-matched and when a seam is flagged (the
    crossfades are the plan's).
    A plan of a range of the source gives an output of that range, with the sound of that
    range; ``timecode`` (``HH:MM:SS:FF``, the range's) replaces the source's start timecode.
    Raises `ProbeError` when an output or the source cannot be read, and `ValueError` when
    ``outputs`` does not match the plan.
    """
    if len(outputs) != len(plan.segments):
        raise ValueError(f"{len(outputs)} outputs for {len(plan.segments)} segments")
    fps = as_rate(plan.fps)
    rotation = source_rotation(source, http=http)
    with open_media(source, http=http) as original:
        frame = _frame_size(original, outputs[0], size, http)
        shape = _Shape(frame, None if size == "model" else (placement or _unpadded(frame)))
        with av.open(str(dest), mode="w", format="mp4") as output:
            video = _video_stream(output, fps, frame)
            carry_tags(original.container, output, video, rotation)
            if timecode is not None:
                video.metadata["timecode"] = output.metadata["timecode"] = timecode
            range_start = Fraction(plan.start) / fps
            audio = AudioTrack.open(
                original.container,
                output,
                plan.frames / fps,
                video_origin(original.container) + range_start,
                skip_before=range_start > 0,
            )
            joiner = _Joiner(output, video, audio, fps, handling, shape, plan.start)
            following = [*plan.segments[1:], None]
            mismatches = [
                joiner.append((item, segment), after, http)
                for item, segment, after in zip(outputs, plan.segments, following, strict=True)
            ]
            output.mux(video.encode(None))
            audio.finish()
    return StitchResult(
        path=dest,
        frames=plan.frames,
        duration_s=float(plan.frames / fps),
        fps=fps,
        width=frame[0],
        height=frame[1],
        size_bytes=dest.stat().st_size,
        sha256=file_sha256(dest),
        audio=audio.mode,
        mismatches=tuple(m for m in mismatches if m is not None),
        seams=joiner.meter.scores(),
    )


def video_origin(container: Any) -> Fraction:
    """Where the first video stream of ``container`` starts, in seconds."""
    if not container.streams.video:
        return Fraction(0)
    stream = container.streams.video[0]
    if stream.start_time is None or stream.time_base is None:
        return Fraction(0)
    return Fraction(stream.start_time) * Fraction(stream.time_base)


def _frame_size(
    original: Opened, first: MediaSource, size: str, http: httpx.Client | None
) -> tuple[int, int]:
    if size == "source":
        info = describe_video(original)
    else:
        with open_media(first, http=http) as opened:
            info = describe_video(opened)
    return info.width // 2 * 2, info.height // 2 * 2


def _video_stream(output: Any, fps: Fraction, frame: tuple[int, int]) -> Any:
    stream = output.add_stream("libx264", rate=fps)
    stream.width, stream.height = frame
    stream.pix_fmt = "yuv420p"
    stream.options = {"preset": PRESET, "crf": STITCH_CRF}
    return stream


@dataclass(frozen=True)
class _Shape:
    """The output frame, and the frame the segments were sent as (None: scale as they are)."""

    frame: tuple[int, int]
    sent: Placement | None


def _unpadded(frame: tuple[int, int]) -> Placement:
    return Placement(frame[0], frame[1], 0, 0, frame[0], frame[1])


def conformed(frame: Any, shape: _Shape) -> Any:
    """One decoded render frame at the output's size: mapped onto the frame sent, bars off."""
    if shape.sent is None:
        return frame.reformat(width=shape.frame[0], height=shape.frame[1], format="yuv420p")
    plan = conform_plan(shape.sent, shape.frame)
    scaled = frame.reformat(width=plan.scale_to[0], height=plan.scale_to[1], format="yuv420p")
    if plan.scale_to == plan.size:
        return scaled
    return crop_yuv420p(scaled, plan.crop)


def crop_yuv420p(picture: Any, box: tuple[int, int, int, int]) -> Any:
    """``box`` (left, top, width, height; all even) of a yuv420p ``picture``."""
    left, top, width, height = box
    full_w, full_h = picture.width, picture.height
    planes = picture.to_ndarray()
    out = np.empty((height * 3 // 2, width), dtype=np.uint8)
    out[:height] = planes[top : top + height, left : left + width]
    chroma = planes[full_h:].reshape(2, full_h // 2, full_w // 2)
    kept = chroma[:, top // 2 : (top + height) // 2, left // 2 : (left + width) // 2]
    out[height:] = kept.reshape(height // 2, width)
    return av.VideoFrame.from_ndarray(out, format="yuv420p")


@dataclass
class _Joiner:
    """Writes segments one after the other, carrying across each seam the frames held for its
    crossfade and the colour statistics its transfer is measured against."""

    output: Any
    video: Any
    audio: AudioTrack
    fps: Fraction
    handling: SeamSettings
    shape: _Shape
    origin: int = 0
    """The source frame the output's frame 0 is (the start of an edited range)."""
    meter: SeamMeter = field(init=False)
    held: list[Plane] = field(default_factory=list)
    reference: ColourStats | None = None

    def __post_init__(self) -> None:
        limits = (self.handling.ratio_limit, self.handling.histogram_limit)
        self.meter = SeamMeter(float(self.fps), limits)

    def append(
        self, work: tuple[MediaSource, Segment], after: Segment | None, http: httpx.Client | None
    ) -> Mismatch | None:
        """Encode the kept frames of one segment's output (``after`` is the next segment, or
        None); the length check of that output."""
        item, segment = work
        first, last = segment.kept
        lead = first - segment.fade_in
        if segment.after_cut:
            self.meter.cuts.add(segment.index)
        with open_media(item, http=http) as opened:
            actual = describe_video(opened).duration_s
            stream = opened.container.streams.video[0]
            stream.thread_type = "AUTO"
            try:
                frames = self._frames(opened.container.decode(stream), segment)
                matched = self._transfer(frames, segment)
                written = self._write(frames, matched, segment, after)
            except av.FFmpegError as exc:
                raise ProbeError(opened.where, f"cannot decode: {exc.strerror}") from exc
            if written < last - lead:
                raise ProbeError(opened.where, f"segment {segment.index} has no decodable frames")
        return check_length(segment.index, float(segment.frames / self.fps), actual, self.fps)

    def _frames(self, decoded: Iterator[Any], segment: Segment) -> _LazyFrames:
        """The segment's frames from its first used one, as yuv420p arrays at the output size,
        decoded lazily: `_transfer` reads the first few, `_write` drains them all."""
        lead, last = segment.kept[0] - segment.fade_in, segment.kept[1]
        return _LazyFrames(
            (segment.start + k, self._array(frame))
            for k, frame in constant_rate(decoded, self.fps, last - segment.start)
            if segment.start + k >= lead
        )

    def _array(self, frame: Any) -> Plane:
        array: Plane = conformed(frame, self.shape).to_ndarray()
        return array

    def _planes(self, array: Plane) -> Planes:
        return yuv420p_planes(array, self.video.height)

    def _transfer(self, frames: _LazyFrames, segment: Segment) -> Transfer:
        """The colour transfer of this segment onto the one before (identity for the first)."""
        if not self.handling.colour_match or self.reference is None or segment.index == 0:
            return IDENTITY
        if segment.after_cut:  # a new shot: its colours are its own, not a drift to undo
            return IDENTITY
        probe = frames.peek(segment.fade_in or MATCH_FRAMES)
        if not probe:
            return IDENTITY
        return transfer(colour_stats([self._planes(array) for _, array in probe]), self.reference)

    def _write(
        self,
        frames: _LazyFrames,
        matched: Transfer,
        segment: Segment,
        after: Segment | None,
    ) -> int:
        first, last = segment.kept
        fade = segment.fade_in
        hold_from = last - (after.fade_in if after is not None else 0)
        recent: deque[Plane] = deque(maxlen=(after.fade_in or MATCH_FRAMES) if after else 1)
        held: list[Plane] = []
        identity = matched.identity
        written = 0
        for at, array in frames:
            corrected = array if identity else apply_to_yuv420p(array, self.video.height, matched)
            recent.append(corrected)
            written += 1
            step = at - (first - fade)
            if at < first:
                # Without the frame held from the segment before (it had none) the position
                # is already written: nothing to fade over.
                if step < len(self.held):
                    blended = crossfade(self.held[step], corrected, step + 1, fade + 1)
                    self._encode(at, blended, segment, blended=True)
            elif at >= hold_from:
                held.append(corrected)
            else:
                self._encode(at, corrected, segment, blended=False)
        self.held = held
        if self.handling.colour_match and after is not None and recent:
            self.reference = colour_stats([self._planes(array) for array in recent])
        return written

    def _encode(self, at: int, array: Plane, segment: Segment, *, blended: bool) -> None:
        self.meter.add(self._planes(array), segment.index, blended)
        picture = av.VideoFrame.from_ndarray(array, format="yuv420p")
        picture.pict_type = PictureType.NONE  # the encoder places keyframes, not the input
        picture.pts, picture.time_base = at - self.origin, 1 / self.fps
        self.output.mux(self.video.encode(picture))
        self.audio.pump(Fraction(at - self.origin + 1) / self.fps)


class _LazyFrames:
    """Decoded frames pulled from ``source`` on demand; ``peek`` reads ahead without losing any."""

    def __init__(self, source: Iterator[tuple[int, Plane]]) -> None:
        self._ahead: deque[tuple[int, Plane]] = deque()
        self._source = source

    def peek(self, count: int) -> list[tuple[int, Plane]]:
        """The next ``count`` frames (fewer at the end), still to be iterated."""
        while len(self._ahead) < count:
            item = next(self._source, None)
            if item is None:
                break
            self._ahead.append(item)
        return list(self._ahead)[:count]

    def __iter__(self) -> Iterator[tuple[int, Plane]]:
        while self._ahead:
            yield self._ahead.popleft()
        yield from self._source
