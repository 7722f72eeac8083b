"""What an operation leaves for its caller to publish: the jobs to start and the clip steps."""

from __future__ import annotations

from dataclasses import dataclass, field

from jobs.models import Job
from pipeline.decisions import ClipNext


@dataclass(frozen=True)
class Sends:
    """Jobs whose first message (a submit) is due, and media steps due now (cut, stitch)."""

    jobs: list[Job] = field(default_factory=list)
    clip_steps: list[ClipNext] = field(default_factory=list)

    def __add__(self, other: Sends) -> Sends:
        return Sends([*self.jobs, *other.jobs], [*self.clip_steps, *other.clip_steps])


@dataclass(frozen=True)
class Outcome:
    """What an operation did, in words for a person, and what it leaves to send."""

    message: str
    sends: Sends = field(default_factory=Sends)
