"""An interactive batch is never stuck behind a big bulk batch on the same key.

The issue's figures are 10 interactive jobs against 500 bulk ones; this test keeps the 1:50
proportion's spirit with 10 against 200 (one key of concurrency 4, one-second jobs) so that it
runs in well under a minute on two cores.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from jobs.models import Priority
from jobs.states import JobState
from tests.etiquette.conftest import KEY, PROVIDER, Cluster, provider_env, unique_batch
from tests.pipeline.conftest import wait_until

pytestmark = pytest.mark.slow

BULK, INTERACTIVE = 200, 10


def test_ten_interactive_jobs_finish_while_two_hundred_bulk_jobs_are_in_their_first_fifth(
    make_cluster: Callable[..., Cluster],
) -> None:
    cluster = make_cluster(**provider_env(concurrency="4", rate_per_s="50"))
    cluster.admin.limit_key(KEY, concurrency=4)
    cluster.admin.configure(processing={"min_s": 1.0, "max_s": 1.0})
    bulk = cluster.jobs(unique_batch("nightly"), BULK)
    interactive = cluster.jobs(unique_batch("preview"), INTERACTIVE, Priority.INTERACTIVE)
    cluster.start_workers(2, concurrency=4)

    cluster.dispatch(bulk)
    wait_until(
        lambda: cluster.count(bulk, JobState.STORED) >= 4,
        60,
        lambda: "the bulk batch never got going",
    )
    started = time.monotonic()
    cluster.dispatch(interactive)
    cluster.wait_stored(interactive, 60)
    took = time.monotonic() - started

    bulk_done = sum(1 for state in cluster.states(bulk) if state.terminal)
    print(f"interactive done in {took:.1f}s; bulk done then: {bulk_done}/{BULK}")
    assert bulk_done < BULK / 5
    peak = cluster.stats()["peak_concurrent"][PROVIDER.value]
    assert max(peak.values()) <= 4
