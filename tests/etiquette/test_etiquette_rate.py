"""Many workers polling many jobs on one API key stay within the key's request rate."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.etiquette.conftest import KEY, Cluster, provider_env, unique_batch

pytestmark = pytest.mark.slow

RATE = 5


def test_polls_and_submits_of_three_workers_never_pass_five_requests_a_second(
    make_cluster: Callable[..., Cluster],
) -> None:
    cluster = make_cluster(
        RESTYLE_POLL_MAX_INTERVAL_S="0.5", **provider_env(concurrency="20", rate_per_s=str(RATE))
    )
    cluster.admin.limit_key(KEY, concurrency=20, rate_per_s=RATE)
    cluster.admin.configure(processing={"min_s": 3.0, "max_s": 4.0})
    jobs = cluster.jobs(unique_batch("rate"), 30)
    cluster.start_workers(3, concurrency=4)

    cluster.dispatch(jobs)
    cluster.wait_stored(jobs, 150)

    per_second = cluster.key_seconds()
    print("requests per second:", [per_second[s] for s in sorted(per_second)])
    stats = cluster.stats()
    print("429s:", stats["rate_limited_total"], stats["requests"])
    assert max(per_second.values()) <= RATE, per_second
    assert stats["rate_limited_total"] == 0
    assert sorted(per_second.values())[-3:] == [RATE] * 3  # the rate is used, not wasted
    assert cluster.paid_once_each(jobs)
