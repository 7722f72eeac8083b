"""The Job record kept in Redis: what to edit, where it stands, and what happened to it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from config.settings import ProviderName
from jobs.failures import FailureKind
from jobs.quality import QcPolicy
from jobs.request import EditRequest
from jobs.states import JobState
from storage.objects import StoredObject

MAX_EVENTS = 20


class Priority(StrEnum):
    """Interactive work is never stuck behind bulk work on the same key."""

    INTERACTIVE = "interactive"
    BULK = "bulk"


class Event(BaseModel):
    """One line of a job's history."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    state: JobState
    detail: str = ""


class Job(BaseModel):
    """One edit of one source clip in one batch. Immutable: transitions make new copies."""

    model_config = ConfigDict(frozen=True)

    id: str
    batch: str
    item: str
    provider: ProviderName
    request: EditRequest
    source: str = ""
    priority: Priority = Priority.BULK
    state: JobState = JobState.QUEUED
    version: int = 0
    write_token: str = ""
    """Random, new with each version: a retried compare-and-set knows its own earlier run by it."""
    attempt: int = 0
    client_request_id: str | None = None
    key_id: str | None = None
    remote_id: str | None = None
    submitted_at: datetime | None = None
    deadline: datetime | None = None
    polls: int = 0
    last_poll_at: datetime | None = None
    next_poll_at: datetime | None = None
    progress: float | None = None
    progress_at: datetime | None = None
    predicted_end_at: datetime | None = None
    output_urls: tuple[str, ...] = ()
    expires_at: datetime | None = None
    remote_completed_at: datetime | None = None
    output: StoredObject | None = None
    output_prefix: str | None = None
    failure_kind: FailureKind | None = None
    failure_message: str | None = None
    estimated_cost_usd: float = 0.0
    provider_estimate_usd: float | None = None
    """The most the provider said the current remote job may charge (Runway's estimatedCost)."""
    billed_cost_usd: float | None = None
    """What the provider billed for the job's finished remote jobs, summed (0 for a refund);
    None while it has sent no bill, or where it sends none."""
    billed_remote_id: str | None = None
    """The remote job whose bill was counted last (a bill is counted once)."""
    answer_lost: bool = False
    """The last submit POST went out and its answer was lost: it may have created a job."""
    url_refreshes: int = 0
    """Fresh output URLs fetched after one expired before its copy (pipeline.refreshing)."""
    possible_double_charges: int = 0
    """Re-sends made when an earlier POST may already have been paid (see pipeline.ambiguity),
    less those the provider's own figures have since confirmed or cleared."""
    extra_remote_ids: tuple[str, ...] = ()
    """Remote jobs a POST whose answer was lost created beside the one the job used, as the
    provider itself named them (its callback to that try's own URL: `pipeline.double_charges`)."""
    double_charges_confirmed: int = 0
    """Of ``extra_remote_ids``, those the provider billed more than $0 (or sent no bill for):
    paid twice, for certain."""
    double_charge_billed_usd: float = 0.0
    """What the provider billed for ``extra_remote_ids`` (also counted in ``billed_cost_usd``)."""
    source_seconds: float | None = None
    clip_id: str | None = None
    segment: int | None = None
    segment_seconds: float | None = None
    awaits_anchor: bool = False
    route: tuple[ProviderName, ...] = ()
    """Providers the job may run on, in order of preference (empty or one: pinned)."""
    policy: str = "cheapest"
    """How the submit step picks from ``route`` (`jobs.routes.Policy`)."""
    remote_possible: bool = False
    """A submit may have created a remote job (sent, answer unknown): the job may not move."""
    moves: tuple[str, ...] = ()
    """Each move to another provider or key, with its reason (see `pipeline.routing.route`)."""
    output_name: str | None = None
    """The output file's name without ``.mp4``: the source's own, suffixed only when two rows
    of a batch share it (None: ``item``)."""
    qc: QcPolicy = QcPolicy()
    """How many paid re-runs an output that fails its checks gets, and how it then ends."""
    qc_reruns: int = 0
    """Paid re-runs made because an output failed its checks (`media.qc`)."""
    qc_flags: tuple[str, ...] = ()
    """The checks a stored output failed, when the QC policy stores it flagged."""
    created_at: datetime
    updated_at: datetime
    events: tuple[Event, ...] = Field(default=())

    @property
    def spend_basis(self) -> str:
        """``billed`` when the provider's own figure is known, else ``estimated``."""
        return "estimated" if self.billed_cost_usd is None else "billed"

    @property
    def counted_usd(self) -> float:
        """What the budget counts for the current remote job until its bill: the most the
        provider said it may charge where it said one, else our estimate."""
        if self.provider_estimate_usd is None:
            return self.estimated_cost_usd
        return self.provider_estimate_usd

    @property
    def possible_double_charge_usd(self) -> float:
        """What the possible extra charges may have cost, at the job's estimated price."""
        return round(self.possible_double_charges * self.estimated_cost_usd, 4)

    def derive(self, item: str, at: datetime, **changes: Any) -> Job:
        """A new QUEUED job for ``item`` of the same batch, made from this one (a re-run).

        It keeps what the edit is (`DERIVED_FIELDS`: provider, request, source, priority,
        output place, price) and starts its own life at ``at``: no attempt, remote job, output
        or history; ``changes`` replace any field (a new request, say).
        """
        kept = {name: getattr(self, name) for name in DERIVED_FIELDS}
        fields = {**kept, "item": item, "created_at": at, "updated_at": at, **changes}
        return Job.model_validate({"id": job_id_for(self.batch, item), **fields})

    def with_event(self, at: datetime, detail: str = "") -> Job:
        """A copy with one more history line for its current state (keeping the last 20)."""
        events = (*self.events, Event(at=at, state=self.state, detail=detail))[-MAX_EVENTS:]
        return self.model_copy(update={"events": events, "updated_at": at})

    def redacted(self, scrub: Callable[[str], str]) -> Job:
        """A copy to show, its provider texts (failure, history) passed through ``scrub``.

        They were scrubbed when they came in (`providers.transport`); this second pass
        catches a key configured since, or a record written by an older version.
        """
        events = tuple(e.model_copy(update={"detail": scrub(e.detail)}) for e in self.events)
        message = scrub(self.failure_message) if self.failure_message else self.failure_message
        return self.model_copy(update={"events": events, "failure_message": message})


DERIVED_FIELDS = (
    "batch",
    "provider",
    "request",
    "source",
    "priority",
    "output_prefix",
    "estimated_cost_usd",
    "source_seconds",
    "route",
    "policy",
    "clip_id",
    "segment",
    "segment_seconds",
)
"""What a job made from another (`Job.derive`) keeps: the edit, not its life."""


def segment_job_id(batch: str, item: str, segment: int) -> str:
    """The job id of segment ``segment`` (1-based) of the clip ``item`` in ``batch``."""
    return job_id_for(batch, f"{item}\x00segment:{segment:03d}")


def job_id_for(batch: str, item: str) -> str:
    """The job id of ``item`` in ``batch``: stable, so re-enqueueing a batch finds it again."""
    digest = hashlib.sha256(f"{batch}\x00{item}".encode()).hexdigest()
    return digest[:24]
