"""Reads of the ledger's state index made by tests."""

from __future__ import annotations

from jobs import redis_keys
from jobs.ledger import Ledger
from jobs.states import JobState


def ids_in_state(ledger: Ledger, state: JobState) -> list[str]:
    """Every id in ``state``, oldest change first."""
    return ledger.ids_in_state(state)


def count_by_state(ledger: Ledger) -> dict[JobState, int]:
    """How many jobs are in each state (finished ones until their records expire)."""
    pipe = ledger.client.pipeline(transaction=False)
    for state in JobState:
        pipe.zcard(redis_keys.state_index(state))
    return dict(zip(JobState, (int(n) for n in pipe.execute()), strict=True))
