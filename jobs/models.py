"""The Job record kept in Redis: what to edit, where it stands, and what happened to it."""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from config.settings import ProviderName
from jobs.states import JobState
from providers.errors import FailureKind
from providers.request import EditRequest

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


class ArchivedOutput(BaseModel):
    """Where the output landed in S3 and what it was."""

    model_config = ConfigDict(frozen=True)

    bucket: str
    key: str
    size: int
    sha256: str
    content_type: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


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
    output: ArchivedOutput | None = None
    output_prefix: str | None = None
    failure_kind: FailureKind | None = None
    failure_message: str | None = None
    estimated_cost_usd: float = 0.0
    source_seconds: float | None = None
    route: tuple[ProviderName, ...] = ()
    """Providers the job may run on, in order of preference (empty or one: pinned)."""
    policy: str = "cheapest"
    """How the submit step picks from ``route`` (`jobs.routing.Policy`)."""
    remote_possible: bool = False
    """A submit may have created a remote job (sent, answer unknown): the job may not move."""
    moves: tuple[str, ...] = ()
    """Each move to another provider or key, with its reason (see `pipeline.failover`)."""
    created_at: datetime
    updated_at: datetime
    events: tuple[Event, ...] = Field(default=())

    def with_event(self, at: datetime, detail: str = "") -> Job:
        """A copy with one more history line for its current state (keeping the last 20)."""
        events = (*self.events, Event(at=at, state=self.state, detail=detail))[-MAX_EVENTS:]
        return self.model_copy(update={"events": events, "updated_at": at})


def job_id_for(batch: str, item: str) -> str:
    """The job id of ``item`` in ``batch``: stable, so re-enqueueing a batch finds it again."""
    digest = hashlib.sha256(f"{batch}\x00{item}".encode()).hexdigest()
    return digest[:24]
