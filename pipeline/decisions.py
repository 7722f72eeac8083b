"""What a pipeline step asks its task to do next. Tasks translate these into Celery calls."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from jobs.limits.limiter import Handover
from jobs.timing import clamp_countdown


class Step(StrEnum):
    """The tasks of a job's chain."""

    SUBMIT = "submit"
    POLL = "poll"
    ARCHIVE = "archive"


class ClipStep(StrEnum):
    """The media tasks of a clip (on the ``media`` queue); their messages carry a clip id."""

    CUT = "cut"
    ANCHOR = "anchor"
    STITCH = "stitch"


@dataclass(frozen=True)
class ClipNext:
    """Send ``step`` for the clip ``clip_id``."""

    step: ClipStep
    clip_id: str


@dataclass(frozen=True)
class Done:
    """Nothing more to schedule: the job moved on, or another message owns it.

    ``handovers``: parked jobs this step handed a limiter slot to; their submits go out now.
    ``clip_next``: the media step the job's clip needs now (its anchor frame, its stitch).
    ``recheck_s``: the job waits without a message (parked, on a waiting list) and the watch
    index re-drives it after this long if no wake-up came first.
    ``frames_due``: the job's output was just stored: its frames are taken on the media queue.
    """

    reason: str = ""
    handovers: tuple[Handover, ...] = ()
    clip_next: ClipNext | None = None
    recheck_s: float | None = None
    frames_due: bool = False


@dataclass(frozen=True)
class Then:
    """Schedule ``step`` for the same job after ``countdown_s`` seconds (``handovers``: see `Done`).

    The countdown is clamped here, where every decision leaves the pipeline, so no step can send
    a message that outwaits the broker's visibility timeout.
    """

    step: Step
    countdown_s: float = 0.0
    reason: str = ""
    handovers: tuple[Handover, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "countdown_s", clamp_countdown(self.countdown_s))


Decision = Done | Then


def with_handovers(decision: Decision, handovers: Sequence[Handover]) -> Decision:
    """``decision`` with more jobs to send submits for."""
    if not handovers:
        return decision
    return replace(decision, handovers=decision.handovers + tuple(handovers))
