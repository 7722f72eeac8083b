"""`stitch_segments`: edited segments back into one clip with the source's timing and sound.

Each provider output is retimed onto the source's constant frame rate over exactly the frames
its segment was cut from, its overlap trimmed, scaled to one frame size and encoded into one
H.264 stream. The source's own audio is re-muxed alongside, interleaved as the video is written:
copied where MP4 can carry it, AAC otherwise, and cut to the video's length. A provider that
trimmed or padded a segment is reported in `StitchResult.mismatches`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import httpx
from av.video.frame import PictureType

from media.audio import AudioTrack
from media.cutting import PRESET, file_sha256
from media.errors import ProbeError
from media.normalise import as_rate
from media.opening import MediaSource, Opened, open_media
from media.plan import Segment, SegmentPlan
from media.probe import describe_video
from media.retime import constant_rate

STITCH_CRF = "18"


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
    http: httpx.Client | None = None,
    timecode: str | None = None,
) -> StitchResult:
    """Stitch ``outputs`` (one per segment of ``plan``, in order) into ``dest`` (an MP4).

    ``size`` "source" scales to the source's frame size, "model" keeps the first output's.
    A plan of a range of the source gives an output of that range, with the sound of that
    range; ``timecode`` (``HH:MM:SS:FF``) is written as the output's start timecode.
    Raises `ProbeError` when an output or the source cannot be read, and `ValueError` when
    ``outputs`` does not match the plan.
    """
    if len(outputs) != len(plan.segments):
        raise ValueError(f"{len(outputs)} outputs for {len(plan.segments)} segments")
    fps = as_rate(plan.fps)
    with open_media(source, http=http) as original:
        frame = _frame_size(original, outputs[0], size, http)
        with av.open(str(dest), mode="w", format="mp4") as output:
            video = _video_stream(output, fps, frame)
            if timecode is not None:
                video.metadata["timecode"] = timecode
            range_start = Fraction(plan.start) / fps
            audio = AudioTrack.open(
                original.container,
                output,
                plan.frames / fps,
                video_origin(original.container) + range_start,
                skip_before=range_start > 0,
            )
            mismatches = [
                _append(output, video, audio, (item, segment, plan.start), fps, http)
                for item, segment in zip(outputs, plan.segments, strict=True)
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


def _append(
    output: Any,
    video: Any,
    audio: AudioTrack,
    work: tuple[MediaSource, Segment, int],
    fps: Fraction,
    http: httpx.Client | None,
) -> Mismatch | None:
    """Encode the kept frames of one segment's output; the length check of that output.

    The output's frame 0 is the source's frame ``origin`` (the start of the edited range).
    """
    item, segment, origin = work
    first, last = segment.kept
    with open_media(item, http=http) as opened:
        actual = describe_video(opened).duration_s
        stream = opened.container.streams.video[0]
        stream.thread_type = "AUTO"
        frames = opened.container.decode(stream)
        written = 0
        try:
            for k, frame in constant_rate(frames, fps, last - segment.start):
                at = segment.start + k
                if at < first:
                    continue
                picture = frame.reformat(width=video.width, height=video.height, format="yuv420p")
                picture.pict_type = PictureType.NONE  # the encoder places keyframes, not the input
                picture.pts, picture.time_base = at - origin, 1 / fps
                output.mux(video.encode(picture))
                audio.pump(Fraction(at - origin + 1) / fps)
                written += 1
        except av.FFmpegError as exc:
            raise ProbeError(opened.where, f"cannot decode: {exc.strerror}") from exc
        if written < last - first:
            raise ProbeError(opened.where, f"segment {segment.index} has no decodable frames")
    return check_length(segment.index, float(segment.frames / fps), actual, fps)
