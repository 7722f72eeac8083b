"""How visible each seam of a stitched clip is: the seam score (pure numpy).

A seam is where the stitched output passes from one segment's render to the next (through the
crossfade, when there is one). Its score compares the biggest frame-to-frame change across it
with the ordinary change: the median frame-to-frame change inside the two neighbouring segments.
A ratio of 1 is a seam nobody can find; a drifted render jumps several times the ordinary
change. Alongside it, the distance between the colour histograms of the last frame before the
seam and the first after it says how far the colours moved.

`SeamMeter` is fed every written frame, in order, by the stitcher; `score_seam` is the verdict.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from media.colour import Planes

HISTOGRAM_BINS = 32
METER_STEP = 4
"""The meter reads every 4th luma pixel (and every 2nd chroma pixel) each way."""
Histogram = npt.NDArray[np.float64]


class SeamScore(BaseModel):
    """The score of seam ``index`` (between segments ``index`` and ``index + 1``, from 1).

    ``jump``: the largest frame-to-frame change across it; ``ordinary``: the median change
    inside its two segments; ``ratio``: jump / ordinary; ``histogram``: colour-histogram
    distance across it (0 same, 1 disjoint); ``flagged``: over a threshold.
    """

    model_config = ConfigDict(frozen=True)

    index: int = Field(ge=1)
    at_s: float
    jump: float
    ordinary: float
    ratio: float
    histogram: float
    flagged: bool = False


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
    histograms: tuple[Histogram, Histogram],
    thresholds: tuple[float, float],
) -> SeamScore:
    """Score one seam from the frame-to-frame ``changes`` (inside the segment before, across
    the seam, inside the segment after) and the ``histograms`` of the frames either side.

    Flagged when the ratio or the histogram distance passes its ``thresholds``.
    """
    before, across, after = changes
    inside = [*before, *after]
    ordinary = statistics.median(inside) if inside else 0.0
    jump = max(across, default=0.0)
    ratio = jump / ordinary if ordinary > 1e-6 else (1.0 if jump <= 1e-6 else float("inf"))
    distance = histogram_distance(*histograms)
    ratio_limit, histogram_limit = thresholds
    return SeamScore(
        index=index,
        at_s=round(at_s, 3),
        jump=round(jump, 3),
        ordinary=round(ordinary, 3),
        ratio=round(ratio, 3),
        histogram=round(distance, 4),
        flagged=ratio > ratio_limit or distance > histogram_limit,
    )


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

    ``add(planes, segment, blended)``: the next output frame, from ``segment`` (from 0), and
    whether it is a crossfade into that segment from the one before.
    """

    fps: float
    thresholds: tuple[float, float]
    _previous: Planes | None = None
    _changes: list[tuple[int, bool, float]] = field(default_factory=list)
    _owner: list[tuple[int, bool]] = field(default_factory=list)
    _last_pure: dict[int, Histogram] = field(default_factory=dict)
    _first_pure: dict[int, Histogram] = field(default_factory=dict)
    _seam_frame: dict[int, int] = field(default_factory=dict)

    def add(self, planes: Planes, segment: int, blended: bool = False) -> None:
        """Account for the next written frame."""
        thumb = small(planes)
        frame = len(self._owner)
        if self._previous is not None:
            inside = not blended and self._owner[-1] == (segment, False)
            self._changes.append((segment, inside, frame_change(self._previous, thumb)))
        if segment not in self._seam_frame and segment > 0:
            self._seam_frame[segment] = frame
        if not blended:
            if segment not in self._first_pure:
                self._first_pure[segment] = colour_histogram(thumb)
            self._last_pure[segment] = colour_histogram(thumb)
        self._owner.append((segment, blended))
        self._previous = thumb

    def scores(self) -> tuple[SeamScore, ...]:
        """One score per seam seen, in order."""
        inside: dict[int, list[float]] = {}
        across: dict[int, list[float]] = {}
        for segment, is_inside, change in self._changes:
            (inside if is_inside else across).setdefault(segment, []).append(change)
        scores = []
        for segment in sorted(self._seam_frame):
            if segment - 1 not in self._last_pure or segment not in self._first_pure:
                continue
            scores.append(
                score_seam(
                    segment,
                    self._seam_frame[segment] / self.fps,
                    (inside.get(segment - 1, []), across.get(segment, []), inside.get(segment, [])),
                    (self._last_pure[segment - 1], self._first_pure[segment]),
                    self.thresholds,
                )
            )
        return tuple(scores)
