"""`plan_segments`: how a clip is split into segments a model can edit (pure, no I/O).

Everything is counted in frames at the source's frame rate, so a boundary is one exact frame and
segments tile the clip with no gap. Segments are spread evenly (never a stub at the end), seams
move to a scene cut when one lies within ``snap_s`` of them, and when even spreading would make
segments shorter than the model's minimum they overlap instead; the overlap is split at its
middle and trimmed when stitching.

With ``overlap`` frames asked for, each segment after the first is also sent the ``overlap``
frames before its own, and the stitcher crossfades them over the end of the segment before (a
seam that moved to a scene cut gets none: a cut hides it already). Segments are then planned
``overlap`` frames shorter, so each one sent still fits the window; that can take one more
segment, which the estimate counts like any other.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from config.catalogue import EditWindow

SNAP_S = 1.0


class PlanError(ValueError):
    """The clip cannot be planned for this model (too short, or a bad ``max_seconds``)."""


class Segment(BaseModel):
    """Frames ``[start, end)`` of the source are sent; ``trim_head``/``trim_tail`` of them are
    dropped again when stitching, because the neighbouring segment covers them. The last
    ``fade_in`` frames of the trimmed head are not dropped but crossfaded over the last
    ``fade_in`` frames of the segment before."""

    model_config = ConfigDict(frozen=True)

    index: int
    start: int
    end: int
    trim_head: int = 0
    trim_tail: int = 0
    fade_in: int = 0
    after_cut: bool = False
    """The seam before this segment lies on a scene cut: it is neither crossfaded nor
    colour-matched, and a jump there is the cut's, not a seam's."""

    @property
    def frames(self) -> int:
        """Frames sent to the provider."""
        return self.end - self.start

    @property
    def kept(self) -> tuple[int, int]:
        """Source frames ``[first, last)`` this segment contributes to the stitched output."""
        return self.start + self.trim_head, self.end - self.trim_tail


class SegmentPlan(BaseModel):
    """A clip's segments, at ``fps``; ``dropped_seconds`` outside the edited range are not edited.

    Segment frames count from the source's first frame; the edited range is ``frames`` frames
    from ``start`` (0 unless only a range of the source is edited, as for a timeline's shot).
    """

    model_config = ConfigDict(frozen=True)

    fps: float
    source_frames: int
    frames: int
    start: int = 0
    segments: tuple[Segment, ...]
    model: str

    @property
    def seconds(self) -> float:
        """Seconds of the source that the edited output covers."""
        return self.frames / self.fps

    @property
    def dropped_seconds(self) -> float:
        """Seconds of the source left out (past ``max_seconds``, or outside the range)."""
        return (self.source_frames - self.frames) / self.fps

    @property
    def billed_seconds(self) -> float:
        """Seconds sent to the provider, overlaps counted twice."""
        return sum(segment.frames for segment in self.segments) / self.fps

    def start_s(self, segment: Segment) -> float:
        """Where ``segment`` starts in the source, in seconds."""
        return segment.start / self.fps

    def duration_s(self, segment: Segment) -> float:
        """How long ``segment`` is, in seconds."""
        return segment.frames / self.fps


def plan_segments(
    duration_s: float,
    fps: float,
    window: EditWindow,
    scene_cuts: Sequence[float] = (),
    max_seconds: float | None = None,
    *,
    snap_s: float = SNAP_S,
    overlap: int = 0,
    start_s: float = 0.0,
) -> SegmentPlan:
    """Split ``duration_s`` of video at ``fps`` into segments within ``window``.

    ``scene_cuts`` are times in seconds from the source's start; ``max_seconds`` edits only
    that much, from ``start_s`` (the start of the clip by default); ``overlap`` frames are
    crossfaded at each seam, where the window leaves room for them.
    Raises `PlanError` when the (kept part of the) clip is shorter than the model's minimum,
    ``max_seconds`` is not positive or ``start_s`` is outside the source.
    """
    if fps <= 0 or duration_s <= 0:
        raise PlanError(f"a clip needs a positive duration and frame rate, not {duration_s} s")
    if max_seconds is not None and max_seconds <= 0:
        raise PlanError(f"max_seconds must be positive, not {max_seconds}")
    source = round(duration_s * fps)
    first = round(start_s * fps)
    if not 0 <= first < source:
        raise PlanError(f"the range starts at {start_s:g} s, outside the {duration_s:g} s source")
    left = source - first
    total = min(left, round(max_seconds * fps)) if max_seconds is not None else left
    shortest = math.ceil(window.min_seconds * fps - 1e-9)
    longest = max(shortest, math.floor(window.max_seconds * fps + 1e-9))
    if total < shortest:
        raise PlanError(
            f"{total / fps:.2f} s is shorter than {window.model}'s minimum of"
            f" {window.min_seconds:g} s"
        )
    fade = fade_room(overlap, shortest, longest) if total > longest else 0
    count = math.ceil(total / (longest - fade)) if fade else math.ceil(total / longest)
    if total / count >= shortest:
        cuts = sorted(
            {round(at * fps) - first for at in scene_cuts if 0 < at * fps - first < total}
        )
        bounds = _spread(total, count, shortest, longest - fade, cuts, round(snap_s * fps))
        segments = [_faded(i, a, b, fade, a in cuts) for i, (a, b) in enumerate(bounds)]
    else:
        segments = _overlapping(total, count, shortest, min(overlap, shortest // 2))
    if first:
        segments = [_shifted(segment, first) for segment in segments]
    return SegmentPlan(
        fps=fps,
        source_frames=source,
        frames=total,
        start=first,
        segments=_fades_fit(segments),
        model=window.model,
    )


def _shifted(segment: Segment, frames: int) -> Segment:
    return segment.model_copy(update={"start": segment.start + frames, "end": segment.end + frames})


def _fades_fit(segments: list[Segment]) -> tuple[Segment, ...]:
    """Each crossfade at most as long as the part the segment before keeps (a short segment
    next to a scene cut): it fades over that segment's last kept frames and nothing earlier."""
    fitted = segments[:1]
    for before, segment in itertools.pairwise(segments):
        room = before.kept[1] - before.kept[0]
        if segment.fade_in > room:
            segment = segment.model_copy(update={"fade_in": room})
        fitted.append(segment)
    return tuple(fitted)


def fade_room(overlap: int, shortest: int, longest: int) -> int:
    """The crossfade a window leaves room for: ``overlap``, but never more than a quarter of the
    longest segment nor so much that a segment could not keep its shortest length of its own."""
    return max(0, min(overlap, longest // 4, longest - shortest))


def _faded(index: int, start: int, end: int, fade: int, at_cut: bool) -> Segment:
    """Segment ``index`` keeping ``[start, end)``, sent from ``fade`` frames earlier unless it
    starts on a scene cut."""
    if index == 0:
        return Segment(index=index, start=start, end=end)
    if at_cut or fade == 0:
        return Segment(index=index, start=start, end=end, after_cut=at_cut)
    return Segment(index=index, start=start - fade, end=end, trim_head=fade, fade_in=fade)


def _spread(
    total: int, count: int, shortest: int, longest: int, cuts: list[int], snap: int
) -> list[tuple[int, int]]:
    """Boundaries spread evenly over what is left, each moved to the nearest workable cut."""
    bounds: list[tuple[int, int]] = []
    start = 0
    for left in range(count, 1, -1):
        target = start + round((total - start) / left)
        end = _snap(target, start, total, left - 1, (shortest, longest), cuts, snap)
        bounds.append((start, end))
        start = end
    bounds.append((start, total))
    return bounds


def _snap(
    target: int,
    start: int,
    total: int,
    after: int,
    limits: tuple[int, int],
    cuts: list[int],
    snap: int,
) -> int:
    """The cut nearest ``target`` (within ``snap``) that keeps this and the rest feasible."""
    shortest, longest = limits
    near = sorted((abs(cut - target), cut) for cut in cuts if abs(cut - target) <= snap)
    for _, cut in near:
        rest = total - cut
        fits_here = shortest <= cut - start <= longest
        if fits_here and after * shortest <= rest <= after * longest:
            return cut
    return target


def _overlapping(total: int, count: int, length: int, fade: int) -> list[Segment]:
    """``count`` segments of ``length`` frames from 0 to ``total``, overlaps split in the middle;
    up to ``fade`` frames before each split are crossfaded."""
    step = (total - length) / (count - 1)
    starts = [round(i * step) for i in range(count)]
    segments: list[Segment] = []
    for index, start in enumerate(starts):
        end = start + length
        head = 0 if index == 0 else (starts[index - 1] + length - start + 1) // 2
        tail = 0 if index == count - 1 else (end - starts[index + 1]) // 2
        trims = {"trim_head": head, "trim_tail": tail, "fade_in": min(fade, head)}
        segments.append(Segment(index=index, start=start, end=end, **trims))
    return segments
