"""A batch's `Tally` read from Redis: its clip records and every job's facts, in two
pipelines (the job records are read as plain JSON, not validated, so a 10,000-job batch is
counted in well under a second)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import redis

from jobs import redis_keys
from jobs.clips.store import ClipStore
from jobs.ledger import Ledger
from producer.tally import JobFacts, Tally, facts_of_raw, tally


def read_facts(client: redis.Redis[bytes], ids: Sequence[str]) -> list[JobFacts]:
    """The `JobFacts` of the jobs ``ids`` that exist (one pipeline of HGETs)."""
    pipe = client.pipeline(transaction=False)
    for job_id in ids:
        pipe.hget(redis_keys.job(job_id), "j")
    return [facts_of_raw(json.loads(raw)) for raw in pipe.execute() if raw is not None]


def batch_tally(ledger: Ledger, batch: str) -> Tally:
    """``batch``'s numbers, as `restyle status`, the reports and the dashboard count them."""
    clips = ClipStore(ledger.client)
    return tally(
        clips.get_many(clips.batch_ids(batch)), read_facts(ledger.client, ledger.batch_ids(batch))
    )
