"""`constant_rate`: decoded frames of any timing mapped onto a constant frame rate, streamed.

Output frame ``k`` shows the input frame nearest to ``k / fps`` (FFmpeg's fps filter rounds the
same way), so variable-rate sources, other frame rates and dropped frames all come out as exactly
``count`` frames. Only one decoded frame is held at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction
from typing import Any


def frame_time(frame: Any, index: int, fps: Fraction) -> float:
    """``frame``'s presentation time in seconds, or its index's when it carries none."""
    at = frame.time
    return float(at) if at is not None else float(index / fps)


def constant_rate(
    frames: Iterable[Any],
    fps: Fraction,
    count: int,
    *,
    origin: float | None = None,
    first: int = 0,
) -> Iterator[tuple[int, Any]]:
    """``(k, frame)`` for ``k`` in ``first..count-1``; times count from ``origin`` (the first
    frame's time when None).

    ``first`` and ``origin`` serve a decoder that sought into the source: its frames start at
    a keyframe before ``first / fps`` past ``origin``, the source's own first frame, so output
    frame ``k`` is the same as when decoding from the start. When the input ends early its last
    frame is held to fill ``count``; when it is longer the rest is never decoded. Yields
    nothing when ``frames`` is empty.
    """
    held: Any = None
    held_at = start = 0.0
    k = first
    for index, frame in enumerate(frames):
        at = frame_time(frame, index, fps)
        if held is None:
            start = at if origin is None else origin
        else:
            middle = (held_at + at - 2 * start) / 2
            while k < count and k / fps < middle:
                yield k, held
                k += 1
        if k >= count:
            return
        held, held_at = frame, at
    while held is not None and k < count:
        yield k, held
        k += 1
