"""The Clip record: one source longer than its provider's edit window, edited as N segment jobs.

::

    CUTTING -> EDITING -> STITCHING -> STORED
       |          |  ^        |      |
       |          |  '--------+------+-- (retry: FAILED -> EDITING; a segment re-run:
       |          |                         STORED -> EDITING)
       '----------+-> FAILED / CANCELLED

A clip's segments are ordinary `Job` records (``clip_id``, ``segment``): they keep every
guarantee a job has. The clip itself only says what to cut, which segments it became, and
where the stitched result landed. Which transition starts the stitch is decided in the ledger
(`jobs.ledger`, ``ledger_move.lua``): the write that stores the last segment claims it, once.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from config.settings import DEFAULT_SEAMS, ProviderName, SeamSettings
from jobs.models import MAX_EVENTS, Priority, segment_job_id
from jobs.quality import QcPolicy
from jobs.request import EditRequest
from media.plan import SegmentPlan
from media.seams import SeamScore
from storage.objects import StoredObject


class ClipState(StrEnum):
    """Where a clip stands (its segments have their own `JobState`)."""

    CUTTING = "CUTTING"
    EDITING = "EDITING"
    STITCHING = "STITCHING"
    STORED = "STORED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def terminal(self) -> bool:
        return self in (ClipState.STORED, ClipState.FAILED, ClipState.CANCELLED)


CLIP_TRANSITIONS: dict[ClipState, frozenset[ClipState]] = {
    ClipState.CUTTING: frozenset(
        {ClipState.CUTTING, ClipState.EDITING, ClipState.FAILED, ClipState.CANCELLED}
    ),
    ClipState.EDITING: frozenset(
        {ClipState.STITCHING, ClipState.FAILED, ClipState.CANCELLED, ClipState.EDITING}
    ),
    ClipState.STITCHING: frozenset(
        {ClipState.STITCHING, ClipState.STORED, ClipState.FAILED, ClipState.CANCELLED}
    ),
    ClipState.STORED: frozenset({ClipState.EDITING}),
    ClipState.FAILED: frozenset({ClipState.EDITING, ClipState.CUTTING}),
    ClipState.CANCELLED: frozenset({ClipState.EDITING, ClipState.CUTTING}),
}


def can_move(current: ClipState, new: ClipState) -> bool:
    """True when a clip in ``current`` may move to ``new``."""
    return new in CLIP_TRANSITIONS[current]


class Continuity(StrEnum):
    """How segments are kept looking like one edit.

    ``anchor``: segment 1 is edited first and one frame of its output becomes every other
    segment's reference image (each anchored to the first, never to the one before: drift
    would add up). ``none``: every segment is sent at once with only the shared prompt and seed.
    """

    ANCHOR = "anchor"
    NONE = "none"


class OutputSize(StrEnum):
    """The stitched output's frame size: the source's (scaled), or the model's own."""

    SOURCE = "source"
    MODEL = "model"


class ClipEvent(BaseModel):
    """One line of a clip's history."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    state: ClipState
    detail: str = ""


class SegmentRef(BaseModel):
    """One cut segment as its clip knows it: its job and the staged object sent to the provider
    (``s3://``, content-addressed). Its frames are ``plan.segments[index - 1]``."""

    model_config = ConfigDict(frozen=True)

    index: int = Field(ge=1)
    job_id: str
    staged: str
    seconds: float


class Clip(BaseModel):
    """A source cut into segments, each edited as its own job, then stitched back."""

    model_config = ConfigDict(frozen=True)

    id: str
    batch: str
    item: str
    provider: ProviderName
    """The provider its unsubmitted segments go to; it changes when they fail over together."""
    request: EditRequest
    source: str
    route: tuple[ProviderName, ...] = ()
    """Providers its segments may move to (same model, window and cut), in order; () pinned."""
    policy: str = "cheapest"
    mix_providers: bool = False
    """True: each segment is routed on its own, so one clip may mix providers' renders."""
    priority: Priority = Priority.BULK
    output_prefix: str | None = None
    output_name: str | None = None
    """The stitched file's name without ``.mp4`` (None: ``item``), as `Job.output_name`."""
    continuity: Continuity = Continuity.NONE
    qc: QcPolicy = QcPolicy()
    """Every segment's QC policy (`Job.qc`)."""
    output_size: OutputSize = OutputSize.SOURCE
    source_seconds: float
    edit_seconds: float
    edit_start_s: float = 0.0
    """Where the edited range starts in the source (a timeline's shot with its handles)."""
    timecode: str | None = None
    """The edited range's start timecode (``HH:MM:SS:FF``), written into the output."""
    reel: str | None = None
    """The source's reel or tape name, kept in the output's S3 metadata for a conform."""
    planned_segments: int = Field(ge=1)
    estimated_cost_usd: float = 0.0
    plan: SegmentPlan | None = None
    seam_handling: SeamSettings = DEFAULT_SEAMS
    """How its seams are crossfaded, colour-matched, anchored and judged (fixed at submit)."""
    seams: tuple[SeamScore, ...] = ()
    """The score of each seam of the stitched output (empty until stitched)."""
    segments: tuple[SegmentRef, ...] = ()
    state: ClipState = ClipState.CUTTING
    version: int = 0
    output: StoredObject | None = None
    failure_message: str | None = None
    created_at: datetime
    updated_at: datetime
    events: tuple[ClipEvent, ...] = ()
    superseded: tuple[str, ...] = ()
    """Segment jobs replaced by a re-run (paid, kept in the ledger, no longer stitched)."""

    @property
    def dropped_seconds(self) -> float:
        """Seconds of the source left out: past ``--max-seconds``, or outside the edited range."""
        return max(0.0, self.source_seconds - self.edit_seconds)

    @property
    def flagged_seams(self) -> tuple[SeamScore, ...]:
        """The seams of the stitched output over the clip's thresholds."""
        return tuple(seam for seam in self.seams if seam.flagged)

    def segment_ids(self) -> list[str]:
        """The segment job ids in order (known once cut)."""
        return [segment.job_id for segment in self.segments]

    def with_event(self, at: datetime, detail: str = "") -> Clip:
        """A copy with one more history line for its current state."""
        events = (*self.events, ClipEvent(at=at, state=self.state, detail=detail))[-MAX_EVENTS:]
        return self.model_copy(update={"events": events, "updated_at": at})


def clip_id_for(batch: str, item: str) -> str:
    """A clip's id: stable like a job's, and distinct from the job id of the same item."""
    return hashlib.sha256(f"{batch}\x00{item}\x00clip".encode()).hexdigest()[:24]


def clip_seed(clip_id: str) -> int:
    """The seed every segment shares when the user gave none: fixed by the clip, so a retried
    segment is edited with the same one."""
    return int(clip_id[:8], 16)


def segment_ids(batch: str, item: str, count: int) -> list[str]:
    """The job ids of a clip's ``count`` segments."""
    return [segment_job_id(batch, item, index) for index in range(1, count + 1)]
