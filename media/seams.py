"""How visible each seam of a stitched clip is: the seam score (pure numpy).

A seam is where the stitched output passes from one segment's render to the next (through the
crossfade, when there is one). Its score compares the biggest frame-to-frame change across it
with the ordinary change: the median frame-to-frame change inside the two neighbouring segments.
A ratio of 1 is a seam nobody can find; a drifted render jumps several times the ordinary
change. Alongside it, the largest distance between the colour histograms of consecutive frames
across it says how far the colours moved in one step.

`SeamMeter` is fed every written frame, in order, by the stitcher; `score_seam` is the verdict.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from media.colour import Plane, Planes

HISTOGRAM_BINS = 32
METER_STEP = 4
"""The meter reads every 4th luma pixel (and every 2nd chroma pixel) each way."""
Histogram = npt.NDArray[np.float64]


class SeamScore(BaseModel):
    """The score of seam ``index`` (between segments ``index`` and ``index + 1``, from 1).

    ``jump``: the largest frame-to-frame change across it; ``ordinary``: the median change
    inside its two segments; ``ratio``: jump / ordinary; ``histogram``: the largest
    colour-histogram distance between consecutive frames across it (0 same, 1 disjoint);
    ``flagged``: over a threshold; ``at_cut``: the seam lies on a scene cut of the source,
    where a jump is the cut's (never flagged).
    """

    model_config = ConfigDict(frozen=True)

    index: int = Field(ge=1)
    at_s: float
    jump: float
    ordinary: float
    ratio: float
    histogram: float
    flagged: bool = False
    at_cut: bool = False


def frame_change(before: Planes, after: Planes) -> float:
    """Mean absolute change in levels of Y', Cb and Cr together (summed over the channels)."""
    total = 0.0
    for old, new in zip(before, after, strict=True):
        total += float(np.abs(old.astype(np.int16) - new.astype(np.int16)).mean())
    return total


def colour_histogram(planes: Planes) -> Histogram:
    """Y', Cb and Cr histograms, each normalised to sum 1, end to end."""
    parts = [
        np.bincount(plane.ravel() // (256 // HISTOGRAM_BINS), minlength=HISTOGRAM_BINS)
        for plane in planes
    ]
    return np.concatenate([part / max(1, part.sum()) for part in parts]).astype(np.float64)


def histogram_distance(first: Histogram, second: Histogram) -> float:
    """Total variation distance per channel, averaged: 0 identical, 1 nothing in common."""
    return float(np.abs(first - second).sum() / 2 / 3)


def score_seam(
    index: int,
    at_s: float,
    changes: tuple[Sequence[float], Sequence[float], Sequence[float]],
    histogram_steps: Sequence[float],
    thresholds: tuple[float, float],
    at_cut: bool = False,
) -> SeamScore:
    """Score one seam from the frame-to-frame ``changes`` (inside the segment before, across
    the seam, inside the segment after) and the ``histogram_steps`` (histogram distances
    between consecutive frames across the seam).

    Flagged when the ratio or the histogram distance passes its ``thresholds``, unless the
    seam is ``at_cut``.
    """
    before, across, after = changes
    inside = [*before, *after]
    ordinary = statistics.median(inside) if inside else 0.0
    jump = max(across, default=0.0)
    ratio = jump / ordinary if ordinary > 1e-6 else (1.0 if jump <= 1e-6 else float("inf"))
    distance = max(histogram_steps, default=0.0)
    ratio_limit, histogram_limit = thresholds
    return SeamScore(
        index=index,
        at_s=round(at_s, 3),
        jump=round(jump, 3),
        ordinary=round(ordinary, 3),
        ratio=round(ratio, 3),
        histogram=round(distance, 4),
        flagged=not at_cut and (ratio > ratio_limit or distance > histogram_limit),
        at_cut=at_cut,
    )


def crossfade(before: Plane, after: Plane, weight: int, steps: int) -> Plane:
    """``after`` laid over ``before`` at ``weight``/``steps`` (integer arithmetic, rounded):
    step ``k`` of a crossfade over ``n`` frames is ``crossfade(a, b, k, n + 1)``."""
    mixed = before.astype(np.uint16) * (steps - weight) + after.astype(np.uint16) * weight
    blended: Plane = ((mixed + steps // 2) // steps).astype(np.uint8)
    return blended


def small(planes: Planes) -> Planes:
    """A cheap thumbnail of the planes for measuring: every `METER_STEP`-th luma pixel."""
    y, cb, cr = planes
    chroma = METER_STEP // 2
    return (
        np.ascontiguousarray(y[::METER_STEP, ::METER_STEP]),
        np.ascontiguousarray(cb[::chroma, ::chroma]),
        np.ascontiguousarray(cr[::chroma, ::chroma]),
    )


@dataclass
class SeamMeter:
    """Collects the changes between consecutive written frames and who wrote each frame.

    ``add(planes, segment, blended)``: the next output frame (Y'CbCr planes), from ``segment``
    (from 0), and whether it is a crossfade into that segment from the one before.
    """

    fps: float
    thresholds: tuple[float, float]
    _previous: tuple[Planes, Histogram, tuple[int, bool]] | None = None
    _inside: dict[int, list[float]] = field(default_factory=dict)
    _across: dict[int, list[tuple[float, float]]] = field(default_factory=dict)
    _seam_frame: dict[int, int] = field(default_factory=dict)
    _frames: int = 0
    cuts: set[int] = field(default_factory=set)
    """Segments whose seam before them lies on a scene cut."""

    def add(self, planes: Planes, segment: int, blended: bool = False) -> None:
        """Account for the next written frame."""
        thumb = small(planes)
        histogram = colour_histogram(thumb)
        owner = (segment, blended)
        if self._previous is not None:
            before, before_histogram, before_owner = self._previous
            change = frame_change(before, thumb)
            if not blended and before_owner == owner:
                self._inside.setdefault(segment, []).append(change)
            else:
                step = histogram_distance(before_histogram, histogram)
                self._across.setdefault(segment, []).append((change, step))
                self._seam_frame.setdefault(segment, self._frames)
        self._previous = (thumb, histogram, owner)
        self._frames += 1

    def scores(self) -> tuple[SeamScore, ...]:
        """One score per seam seen, in order."""
        return tuple(
            score_seam(
                segment,
                self._seam_frame[segment] / self.fps,
                (
                    self._inside.get(segment - 1, []),
                    [change for change, _ in across],
                    self._inside.get(segment, []),
                ),
                [step for _, step in across],
                self.thresholds,
                at_cut=segment in self.cuts,
            )
            for segment, across in sorted(self._across.items())
        )
