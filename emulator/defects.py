"""Bad outputs on demand: renders that succeed but that no producer would accept.

A job gets a defect from the prompt marker ``[bad:<defect>]`` (every render of that prompt), or
from the ``bad_outputs`` knob: rules ``{"match", "defect", "times"}`` that give the first
``times`` jobs (None: every job) whose prompt contains ``match`` that defect. The remote job
still SUCCEEDS and is paid; only the file is wrong:

- ``black``: every frame black;
- ``frozen``: the first edited frame, held to the end;
- ``truncated``: the first half of the frames only;
- ``unedited``: the input's own bytes handed back;
- ``blurred``: the edit smeared (a 49-pixel box blur) and greyed, as a moderation filter does;
- ``not_video``: an HTML error page served as the MP4.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from emulator.config import BadOutput

Frame = npt.NDArray[np.uint8]
MARKER = re.compile(r"\[bad:([a-z_]+)\]")
RADIUS = 24
NOT_A_VIDEO = b"<html><body><h1>502 Bad Gateway</h1></body></html>\n"


class Defect(StrEnum):
    """What is wrong with a bad output."""

    BLACK = "black"
    FROZEN = "frozen"
    TRUNCATED = "truncated"
    UNEDITED = "unedited"
    BLURRED = "blurred"
    NOT_VIDEO = "not_video"


class DefectPicker:
    """Which defect a new job's output gets; counts the rules' uses (reset with the engine)."""

    def __init__(self) -> None:
        self.used: Counter[int] = Counter()

    def pick(self, prompt: str, rules: Sequence[BadOutput]) -> str | None:
        """The defect of a job with ``prompt``, counting one use of the rule that gave it."""
        marker = MARKER.search(prompt)
        if marker and marker.group(1) in Defect.__members__.values():
            return marker.group(1)
        for number, rule in enumerate(rules):
            if rule.match in prompt and (rule.times is None or self.used[number] < rule.times):
                self.used[number] += 1
                return rule.defect
        return None

    def clear(self) -> None:
        """Forget every use."""
        self.used.clear()


def frame_count(count: int, defect: str | None) -> int:
    """How many of ``count`` frames a render with ``defect`` writes."""
    return max(1, count // 2) if defect == Defect.TRUNCATED else count


def spoil(image: Frame, first: Frame, defect: str | None) -> Frame:
    """One edited frame as ``defect`` makes it (``first`` is the first edited frame)."""
    if defect == Defect.BLACK:
        return np.zeros_like(image)
    if defect == Defect.FROZEN:
        return first
    if defect == Defect.BLURRED:
        smeared = _box_blur(_box_blur(image.astype(np.float32), 0), 1)
        return np.asarray(smeared / 2 + 64, dtype=np.uint8)
    return image


def _box_blur(image: npt.NDArray[np.float32], axis: int) -> npt.NDArray[np.float32]:
    """A moving average of ``RADIUS * 2 + 1`` pixels along ``axis`` (edges clamped)."""
    padded = np.pad(image, [(RADIUS + 1, RADIUS) if a == axis else (0, 0) for a in range(3)],
                    mode="edge")  # fmt: skip
    sums = np.cumsum(padded, axis=axis, dtype=np.float32)
    upper = np.take(sums, range(2 * RADIUS + 1, sums.shape[axis]), axis=axis)
    lower = np.take(sums, range(0, sums.shape[axis] - 2 * RADIUS - 1), axis=axis)
    return np.asarray((upper - lower) / (2 * RADIUS + 1), dtype=np.float32)
