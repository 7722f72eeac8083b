"""`encode_target`: what every segment of a source is encoded as for one model (pure, no I/O).

Segments are always re-encoded as H.264 in MP4 at a constant frame rate; this decides the rate,
the frame size and the bitrate cap that keep them within the model's input limits, and says in
words what changed for the dry run ("ProRes MOV -> H.264 MP4", "3840x2160 -> 1920x1080", ...).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction

from config.catalogue import EditWindow
from media.conform import Placement, pad_to
from media.probe import VideoInfo

RATE_DENOMINATOR = 1001
# 29.97, 23.976 and 59.94 as written by people mean NTSC's n*1000/1001.
NTSC_TOLERANCE = Fraction(1, 200)
# Leave room for the container and for x264 overshooting its VBV a little.
BYTES_HEADROOM = 0.8
FALLBACK_FPS = Fraction(24)
MB = 1024 * 1024


@dataclass(frozen=True)
class EncodeTarget:
    """H.264 MP4 at ``fps`` (constant) and ``width`` x ``height``, at most ``max_bitrate`` b/s.

    ``placement`` pads that picture to the shape of the ratio sent (`media.conform`): the
    encoded frame is then ``frame``, larger than the picture.
    """

    fps: Fraction
    width: int
    height: int
    max_bitrate: int
    changes: tuple[str, ...] = ()
    placement: Placement | None = None

    @property
    def frame(self) -> tuple[int, int]:
        """The encoded frame's width and height (the padded frame, if padded)."""
        if self.placement is None:
            return self.width, self.height
        return self.placement.frame_width, self.placement.frame_height


@functools.lru_cache(maxsize=256)
def as_rate(fps: float | Fraction) -> Fraction:
    """``fps`` as an exact rate: 29.97 -> 30000/1001, 24.0 -> 24, 12.5 -> 25/2."""
    ntsc = Fraction(round(fps * RATE_DENOMINATOR / 1000) * 1000, RATE_DENOMINATOR)
    if ntsc.denominator == RATE_DENOMINATOR and abs(ntsc - Fraction(fps)) < NTSC_TOLERANCE:
        return ntsc
    return Fraction(fps).limit_denominator(RATE_DENOMINATOR)


def plan_rate(info: VideoInfo) -> Fraction:
    """The constant rate a source is planned, cut and stitched at: its own rate, or for a
    variable-rate source the stream's base rate (its fastest regular rate)."""
    if info.variable_rate and info.base_fps:
        return as_rate(info.base_fps)
    return as_rate(info.fps) if info.fps else FALLBACK_FPS


def capped_rate(fps: Fraction, most: float) -> Fraction:
    """``fps`` divided by the smallest whole number that brings it to ``most`` or below."""
    return fps / max(1, math.ceil(fps / Fraction(most) - Fraction(1, 10**6)))


def fitted_size(width: int, height: int, longest_side: int) -> tuple[int, int]:
    """``width`` x ``height`` scaled down (never up) to ``longest_side``, both even."""
    scale = min(1.0, longest_side / max(width, height))
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


# Pure over frozen inputs: a library's rows repeat a few sources, and a plan asks per provider.
@functools.lru_cache(maxsize=1024)
def encode_target(
    info: VideoInfo,
    window: EditWindow,
    *,
    max_bytes: int | None = None,
    segment_seconds: float | None = None,
    ratio: str | None = None,
) -> EncodeTarget:
    """The encoding that keeps segments of ``info`` within ``window`` (and ``max_bytes``).

    ``segment_seconds`` is the longest segment (the window's maximum when None); the bitrate cap
    is what fits ``max_bytes`` (the window's limit when None, the lower of the two otherwise).
    ``ratio``, for a model that renders at the ratio's own frame, pads the picture to its shape.
    """
    limit = min(window.max_input_bytes, max_bytes or window.max_input_bytes)
    seconds = segment_seconds or window.max_seconds
    source_fps = plan_rate(info)
    fps = capped_rate(source_fps, window.max_input_fps)
    width, height = fitted_size(info.width, info.height, window.max_input_side)
    bitrate = int(limit * 8 * BYTES_HEADROOM / max(seconds, 1e-3))
    changes = _changes(info, (width, height), (source_fps, fps))
    if info.size_bytes is not None and info.size_bytes > limit:
        changes += (f"{info.size_bytes / MB:.1f} MB -> segments under {limit / MB:.0f} MB",)
    placement = None
    if window.output_size == "ratio":
        placement = pad_to((width, height), ratio, Fraction(info.pixel_aspect))
        if placement.padded:
            frame = f"{placement.frame_width}x{placement.frame_height}"
            changes += (f"padded to {ratio} ({frame}), cropped back after the edit",)
        else:
            placement = None
    return EncodeTarget(fps, width, height, bitrate, changes, placement)


def _changes(
    info: VideoInfo,
    size: tuple[int, int],
    rates: tuple[Fraction, Fraction],
) -> tuple[str, ...]:
    changes: list[str] = []
    if info.codec != "h264" or info.container != "mp4":
        changes.append(f"{info.codec} {info.container.upper()} -> H.264 MP4")
    if size != (info.width, info.height):
        changes.append(f"{info.width}x{info.height} -> {size[0]}x{size[1]}")
    if info.variable_rate:
        changes.append(f"variable frame rate -> constant {float(rates[1]):.4g} fps")
    elif rates[0] != rates[1]:
        changes.append(f"{float(rates[0]):.4g} fps -> {float(rates[1]):.4g} fps")
    return tuple(changes)
