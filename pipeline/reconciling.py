"""Find jobs whose messages were lost (a killed worker, a restarted broker) and re-drive them.

Every step is idempotent (compare-and-set on the job's state), so re-driving a job whose
message is merely late costs one no-op task; missing one that was lost would strand it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from jobs.states import JobState
from jobs.timing import MAX_COUNTDOWN_S
from pipeline.context import Context
from pipeline.decisions import Step
from pipeline.polling import is_duplicate_chain


@dataclass(frozen=True)
class Redrive:
    """Send ``step`` for ``job_id`` again."""

    job_id: str
    step: Step
    reason: str


def stale_after(ctx: Context) -> dict[JobState, tuple[Step, timedelta]]:
    """How long each state may stand still before its job is re-driven, and with which step."""
    settings = ctx.settings
    grace = ctx.call_grace().total_seconds()
    longest_wait = MAX_COUNTDOWN_S + grace
    return {
        JobState.SUBMITTING: (Step.SUBMIT, ctx.submit_grace()),
        JobState.RETRY_WAIT: (Step.SUBMIT, timedelta(seconds=longest_wait)),
        JobState.SUBMITTED: (
            Step.POLL,
            timedelta(seconds=2 * settings.poll_max_interval_s + grace),
        ),
        JobState.SUCCEEDED: (Step.ARCHIVE, timedelta(seconds=grace)),
        JobState.ARCHIVING: (Step.ARCHIVE, timedelta(seconds=settings.archive_stall_s)),
    }


def find_stranded(ctx: Context, now: datetime, limit: int = 1000) -> list[Redrive]:
    """Jobs that have not moved for longer than their state allows, or whose submit is overdue.

    Each job appears once: a job both overdue on the watch list and stale in SUBMITTING would
    otherwise get two submit messages in one pass, two rivals for its next paid try.
    """
    found = [
        Redrive(job_id, Step.SUBMIT, "its submit message is overdue")
        for job_id in ctx.ledger.overdue(now, limit)
    ]
    for state, (step, age) in stale_after(ctx).items():
        stale = ctx.ledger.stale(state, older_than=now - age, limit=limit)
        if state is JobState.SUBMITTED:
            stale = polls_overdue(ctx, stale, now)
        found.extend(Redrive(job_id, step, f"{state} unchanged for over {age}") for job_id in stale)
    return once_each(found)


def once_each(redrives: list[Redrive]) -> list[Redrive]:
    """``redrives`` with only the first one of each job kept."""
    seen: set[str] = set()
    kept = []
    for redrive in redrives:
        if redrive.job_id not in seen:
            seen.add(redrive.job_id)
            kept.append(redrive)
    return kept


def polls_overdue(ctx: Context, job_ids: list[str], now: datetime) -> list[str]:
    """Of ``job_ids``, those a re-driven poll would actually poll.

    A poll backing off from a provider error may be planned further ahead than the staleness
    limit; until then `poll_job` drops any other poll as a duplicate chain
    (`is_duplicate_chain`), so re-driving it earlier only sends tasks that do nothing.
    """
    return [job.id for job in ctx.ledger.get_many(job_ids) if not is_duplicate_chain(job, now)]
