"""How a render is brought back to its source's shape (pure: sizes in, sizes out).

Gen-4 Aleph renders at its own frame for the ratio it is sent (1280x720 for 16:9, 1104x832
for 4:3, ...) and, as the emulator does and no provider documents otherwise, draws whatever it
was sent onto that frame: a 176x144 (11:9) input sent as 16:9 comes back 45% wider. So:

1. **The ratio sent** is the one the provider accepts whose frame is nearest the source's
   display shape (`nearest_ratio`, by the log of the aspect ratios; ties go to the first).
2. **Before the edit** the source is padded (black bars, centred) to that frame's shape
   (`pad_to`), unless it is already within `SAME_SHAPE` of it. No source pixel is dropped.
3. **After the edit** the render is mapped back onto the frame that was sent, at the output's
   resolution, and the padding is cropped off (`conform_plan`). The one rule: *a render covers
   exactly the frame it was sent.* Because that frame has the render's shape (to within a
   pixel of rounding), the mapping is a uniform scale; it never stretches the picture, and
   where a provider did stretch (a ratio the user forced), mapping back undoes it.

Sizes are even (H.264 4:2:0), and offsets too, so crops fall on chroma samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

RATIO_FRAMES: dict[str, tuple[int, int]] = {
    "16:9": (1280, 720),
    "9:16": (720, 1280),
    "4:3": (1104, 832),
    "3:4": (832, 1104),
    "1:1": (960, 960),
    "21:9": (1584, 672),
}
"""The frame Gen-4 Aleph renders for each friendly ratio (Runway's pixel ratios, providers.md
section 6; the emulator renders the same)."""

SAME_SHAPE = 0.01
"""A source within 1% of the sent frame's shape is not padded (the stretch is under a pixel
in a hundred)."""


@dataclass(frozen=True)
class Placement:
    """The source's picture inside the frame sent: ``width`` x ``height`` at ``left``, ``top``
    of a ``frame_width`` x ``frame_height`` frame (all even)."""

    frame_width: int
    frame_height: int
    left: int
    top: int
    width: int
    height: int

    @property
    def padded(self) -> bool:
        """True when the frame sent has bars around the picture."""
        return (self.frame_width, self.frame_height) != (self.width, self.height)


@dataclass(frozen=True)
class ConformPlan:
    """Scale a render to ``scale_to`` (width, height), then keep ``crop`` (left, top, width,
    height) of it: the output, at the source's size."""

    scale_to: tuple[int, int]
    crop: tuple[int, int, int, int]

    @property
    def size(self) -> tuple[int, int]:
        """The output's width and height."""
        return self.crop[2], self.crop[3]


def even(value: float) -> int:
    """``value`` rounded to the nearest even whole number, at least 2."""
    return max(2, round(value / 2) * 2)


def _down(value: float, divisor: int = 1) -> int:
    """``value / divisor`` rounded down to an even whole number (an offset: 0 allowed)."""
    return max(0, int(value / divisor) // 2 * 2)


def display_aspect(width: int, height: int, sar: Fraction = Fraction(1)) -> float:
    """How wide the picture looks for its height (a sample aspect ratio of 0 means square)."""
    return width * float(sar or 1) / height


def nearest_ratio(aspect: float, accepted: Sequence[str]) -> str:
    """The ratio of ``accepted`` whose frame is nearest ``aspect``; raises `ValueError` when
    none is known."""
    known = [ratio for ratio in accepted if ratio in RATIO_FRAMES]
    if not known:
        raise ValueError(f"no known ratio among {', '.join(accepted) or 'none'}")

    def distance(ratio: str) -> float:
        width, height = RATIO_FRAMES[ratio]
        return abs(math.log(aspect) - math.log(width / height))

    return min(known, key=distance)


def pad_to(size: tuple[int, int], ratio: str | None, sar: Fraction = Fraction(1)) -> Placement:
    """Where a ``size`` picture sits in the frame sent as ``ratio``: bars left and right of a
    narrower picture, above and below a wider one, centred. No ratio: as it is."""
    width, height = even(size[0]), even(size[1])
    same = Placement(width, height, 0, 0, width, height)
    if ratio is None or ratio not in RATIO_FRAMES:
        return same
    frame_w, frame_h = RATIO_FRAMES[ratio]
    target = frame_w / frame_h
    aspect = display_aspect(width, height, sar)
    if abs(aspect / target - 1) <= SAME_SHAPE:
        return same
    pixel = float(sar or 1)
    if aspect < target:
        padded_w = max(width, even(height * target / pixel))
        return Placement(padded_w, height, _down(padded_w - width, 2), 0, width, height)
    padded_h = max(height, even(width * pixel / target))
    return Placement(width, padded_h, 0, _down(padded_h - height, 2), width, height)


def conform_plan(placement: Placement, output: tuple[int, int]) -> ConformPlan:
    """How a render of the frame sent becomes ``output`` (the source's even size): scale it
    to the sent frame at the output's resolution, crop the bars off."""
    out_w, out_h = even(output[0]), even(output[1])
    scale_x = out_w / placement.width
    scale_y = out_h / placement.height
    scaled = (even(placement.frame_width * scale_x), even(placement.frame_height * scale_y))
    left = min(_down(placement.left * scale_x), scaled[0] - out_w)
    top = min(_down(placement.top * scale_y), scaled[1] - out_h)
    return ConformPlan(scaled, (left, top, out_w, out_h))


def stretch(render: tuple[int, int], plan: ConformPlan) -> float:
    """How much the render's picture is stretched on its way to ``plan``'s output: the ratio
    of horizontal to vertical scale, minus one (0 means uniform)."""
    return (plan.scale_to[0] / render[0]) / (plan.scale_to[1] / render[1]) - 1
