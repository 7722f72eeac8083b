"""Many workers, one API key: the provider never sees more jobs at once than the key may run,
and it does see that many (every slot it grants is used)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.etiquette.conftest import KEY, KEY_ID, PROVIDER, Cluster, provider_env, unique_batch

pytestmark = pytest.mark.slow


def test_three_workers_keep_sixty_jobs_within_the_key_concurrency_without_a_429(
    make_cluster: Callable[..., Cluster],
) -> None:
    cluster = make_cluster(**provider_env(concurrency="4", rate_per_s="50"))
    cluster.admin.limit_key(KEY, concurrency=4)
    cluster.admin.configure(processing={"min_s": 0.5, "max_s": 1.0})
    jobs = cluster.jobs(unique_batch("peak"), 60)
    cluster.start_workers(3, concurrency=4)

    cluster.dispatch(jobs)
    cluster.wait_stored(jobs, 150)

    stats = cluster.stats()
    assert stats["peak_concurrent"][PROVIDER.value][KEY_ID] == 4
    assert stats["rate_limited_total"] == 0
    assert stats["submissions"]["paid_total"] == 60
    assert cluster.paid_once_each(jobs)
