"""One 429 with Retry-After, seen by one worker, silences the key for every worker."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.etiquette.conftest import KEY, Cluster, provider_env, unique_batch

pytestmark = pytest.mark.slow

RETRY_AFTER_S = 10


def test_a_retry_after_of_ten_seconds_keeps_every_worker_off_the_key_for_ten_seconds(
    make_cluster: Callable[..., Cluster],
) -> None:
    cluster = make_cluster(**provider_env(concurrency="6", rate_per_s="20"))
    cluster.admin.configure(processing={"min_s": 1.0, "max_s": 1.0})
    jobs = cluster.jobs(unique_batch("cool"), 12)
    cluster.start_workers(2, concurrency=3)
    cluster.admin.rate_limit(KEY, count=1, retry_after_s=RETRY_AFTER_S)

    cluster.dispatch(jobs)
    cluster.wait_stored(jobs, 90)

    per_second = cluster.key_seconds()
    first = min(per_second)
    print("requests per second:", {s - first: n for s, n in sorted(per_second.items())})
    # The 429 is the key's first request (in second `first`). Calls already in flight when it
    # came back may land in that second or the next; after that, nothing for ten seconds.
    silent = range(first + 2, first + RETRY_AFTER_S)
    assert [per_second.get(second, 0) for second in silent] == [0] * len(silent)
    assert max(per_second) >= first + RETRY_AFTER_S
    assert cluster.stats()["rate_limited_total"] == 1
    assert cluster.paid_once_each(jobs)
