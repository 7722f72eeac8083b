"""The web's job index: a batch read once, then only the jobs whose state index moved; the
filters, search and pages of the batch page."""

from __future__ import annotations

from datetime import UTC, datetime

import redis

from jobs.failures import FailureKind
from jobs.ledger import Ledger
from jobs.states import JobState
from web.index import MIN_REFRESH_S, Filters, JobIndex, paginate

from .conftest import make_jobs


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_change_shows_after_the_next_refresh_and_only_changed_jobs_are_read(
    redis_client: redis.Redis,
) -> None:
    ledger = Ledger(redis_client)
    jobs = make_jobs("idx", 30, "https://example.com/a.mp4")
    ledger.add(jobs)
    ledger.add(make_jobs("other", 5, "https://example.com/a.mp4"))
    clock = Clock(datetime.now(UTC).timestamp())
    index = JobIndex(redis_client, clock)
    assert len(index.rows("idx")) == 30
    ledger.transition(jobs[4].id, JobState.FAILED, expect={JobState.QUEUED},
                      now=datetime.now(UTC), failure_kind=FailureKind.MODERATION)  # fmt: skip
    assert index.rows("idx")[4].state is JobState.QUEUED  # refreshed at most every MIN_REFRESH_S
    clock.now += 2 * MIN_REFRESH_S
    rows = index.rows("idx")
    assert rows[4].state is JobState.FAILED and rows[4].failure_kind == "moderation"
    assert index._scan(0) == []  # every score seen: the margin will read nothing again
    assert "other" not in {row.batch for row in rows}


def test_filters_search_and_pages(redis_client: redis.Redis) -> None:
    ledger = Ledger(redis_client)
    jobs = make_jobs("flt", 120, "https://example.com/a.mp4")
    ledger.add(jobs)
    now = datetime.now(UTC)
    for job in jobs[:7]:
        ledger.transition(job.id, JobState.FAILED, expect={JobState.QUEUED}, now=now,
                          failure_kind=FailureKind.CREDITS)  # fmt: skip
    rows = JobIndex(redis_client).rows("flt")
    assert [row.item for row in rows] == sorted(row.item for row in rows)
    failed = paginate(rows, Filters(state="FAILED"), 1, 50)
    assert failed.matching == 7 and failed.pages == 1
    assert paginate(rows, Filters(failure_kind="credits", provider="crun"), 1, 50).matching == 3
    assert paginate(rows, Filters(search="CLIP-0011"), 1, 50).matching == 10
    last = paginate(rows, Filters(), 9, 50)
    assert (last.page, last.pages, len(last.rows)) == (3, 3, 20)
