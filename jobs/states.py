"""A job's states and the transitions between them, defined once.

::

    QUEUED -> SUBMITTING -> SUBMITTED -> SUCCEEDED -> ARCHIVING -> STORED
      |  ^        |   |         |            |            |
      |  '-- RETRY_WAIT <-------'            '-> EXPIRED <'
      '-> CANCELLED   '-> FAILED (kind, message)

RETRY_WAIT is "not submitted, will be": a POST that came back retryable (nothing was paid),
a POST whose answer was lost (maybe paid: ``Job.answer_lost``), or a remote job that failed in a
way worth one more paid try. RETRY_WAIT -> SUBMITTED adopts the remote job a lost POST created,
when the provider's callback announces it (crun). SUBMITTING -> SUBMITTING is a
reconciled re-attempt with a new attempt number. FAILED/EXPIRED/CANCELLED -> QUEUED is an
explicit `restyle retry`; ARCHIVING -> QUEUED a paid re-run of an output that failed its checks
(`pipeline.checking`).
"""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    """Where a job stands in restyle (not at the provider: see `RemoteState`)."""

    QUEUED = "QUEUED"
    RETRY_WAIT = "RETRY_WAIT"
    SUBMITTING = "SUBMITTING"
    SUBMITTED = "SUBMITTED"
    SUCCEEDED = "SUCCEEDED"
    ARCHIVING = "ARCHIVING"
    STORED = "STORED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset(
    {JobState.STORED, JobState.FAILED, JobState.EXPIRED, JobState.CANCELLED}
)

ACTIVE_STATES = frozenset(JobState) - TERMINAL_STATES

ALLOWED_TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset({JobState.SUBMITTING, JobState.CANCELLED, JobState.FAILED}),
    JobState.RETRY_WAIT: frozenset(
        {JobState.SUBMITTING, JobState.SUBMITTED, JobState.CANCELLED, JobState.FAILED}
    ),
    JobState.SUBMITTING: frozenset(
        {
            JobState.SUBMITTING,
            JobState.SUBMITTED,
            JobState.RETRY_WAIT,
            JobState.FAILED,
            JobState.CANCELLED,
        }
    ),
    # SUBMITTED -> SUBMITTED writes the provider's bill, with its history line, before the
    # job moves on (pipeline.billing).
    JobState.SUBMITTED: frozenset(
        {
            JobState.SUBMITTED,
            JobState.SUCCEEDED,
            JobState.FAILED,
            JobState.CANCELLED,
            JobState.RETRY_WAIT,
        }
    ),
    JobState.SUCCEEDED: frozenset({JobState.ARCHIVING, JobState.EXPIRED, JobState.FAILED}),
    JobState.ARCHIVING: frozenset(
        {JobState.ARCHIVING, JobState.STORED, JobState.EXPIRED, JobState.FAILED, JobState.QUEUED}
    ),
    JobState.STORED: frozenset(),
    JobState.FAILED: frozenset({JobState.QUEUED}),
    JobState.EXPIRED: frozenset({JobState.QUEUED}),
    JobState.CANCELLED: frozenset({JobState.QUEUED}),
}


def can_transition(current: JobState, new: JobState) -> bool:
    """True when ``current -> new`` is a legal move."""
    return new in ALLOWED_TRANSITIONS[current]
