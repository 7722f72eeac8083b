"""A paid try's idempotency key, ``<job id>.<try>``: sent with every POST of that try.

A re-POST of the same try (a lost answer, a crash) reuses the key; a new paid try (``restyle
retry``, a retryable remote failure) takes the next one.
"""

from __future__ import annotations


def first_request_id(job_id: str) -> str:
    """The key of a job's first paid try."""
    return f"{job_id}.1"


def next_request_id(job_id: str, current: str | None) -> str:
    """The key of the try after ``current`` (the first one when there is none)."""
    suffix = (current or "").rpartition(".")[2]
    tries = int(suffix) if suffix.isdigit() else 0
    return f"{job_id}.{tries + 1}"
