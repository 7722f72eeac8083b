"""What a pipeline step asks its task to do next. Tasks translate these into Celery calls."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from jobs.limiter import Handover


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

    ``wake``: parked jobs this step handed a limiter slot to; their submits go out now.
    ``clip_next``: the media step the job's clip needs now (its anchor frame, its stitch).
    """

    reason: str = ""
    wake: tuple[Handover, ...] = ()
    clip_next: ClipNext | None = None


@dataclass(frozen=True)
class Then:
    """Schedule ``step`` for the same job after ``countdown_s`` seconds (``wake``: see `Done`)."""

    step: Step
    countdown_s: float = 0.0
    reason: str = ""
    wake: tuple[Handover, ...] = ()


Decision = Done | Then
