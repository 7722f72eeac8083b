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
    """A batch's counts at one moment: its jobs by state (clips' segments included), and how
    many of its clips there are and how many are not yet stitched or ended."""

    at: float
    counts: dict[JobState, int]
    clips: int = 0
    open_clips: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def finished(self) -> int:
        return sum(self.counts.get(state, 0) for state in TERMINAL_STATES)

    @property
    def settled(self) -> bool:
        """True once the batch has work and all of it is over: every job ended and every clip
        stitched or ended (a clip is still being cut before it has jobs, and still being
        stitched after its last segment is STORED)."""
        started = self.total > 0 or self.clips > 0
        return started and self.finished == self.total and self.open_clips == 0


def eta_s(first: Snapshot, last: Snapshot) -> float | None:
    """Seconds until every job is finished at the throughput seen between two snapshots."""
    done = last.finished - first.finished
    elapsed = last.at - first.at
    if done <= 0 or elapsed <= 0:
        return None
    return (last.total - last.finished) / (done / elapsed)
