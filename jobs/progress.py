"""A batch's progress: its counts by state at one moment, and the ETA two moments give.

Pure; the CLI's ``--watch`` and the web dashboard both read the ledger into `Snapshot`s.
"""

from __future__ import annotations

from dataclasses import dataclass

from jobs.states import TERMINAL_STATES, JobState

SHOWN_STATES = (
    JobState.QUEUED,
    JobState.RETRY_WAIT,
    JobState.SUBMITTING,
    JobState.SUBMITTED,
    JobState.SUCCEEDED,
    JobState.ARCHIVING,
    JobState.STORED,
    JobState.FAILED,
    JobState.EXPIRED,
    JobState.CANCELLED,
)


@dataclass(frozen=True)
class Snapshot:
    """A batch's counts at one moment."""

    at: float
    counts: dict[JobState, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def finished(self) -> int:
        return sum(self.counts.get(state, 0) for state in TERMINAL_STATES)


def eta_s(first: Snapshot, last: Snapshot) -> float | None:
    """Seconds until every job is finished at the throughput seen between two snapshots."""
    done = last.finished - first.finished
    elapsed = last.at - first.at
    if done <= 0 or elapsed <= 0:
        return None
    return (last.total - last.finished) / (done / elapsed)
