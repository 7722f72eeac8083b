"""Celery task counts as /metrics reads them: cumulative runtime buckets, workers up at a now."""

from __future__ import annotations

from jobs.task_counts import INF, bucket_of, decode, encode, histograms, up_workers

LABELS = ("restyle.submit", "steps@h", "submit")


def test_a_runtime_falls_in_the_first_bucket_that_holds_it() -> None:
    assert bucket_of(0.003) == "0.005"
    assert bucket_of(0.25) == "0.25"
    assert bucket_of(0.26) == "0.5"
    assert bucket_of(4000.0) == INF


def test_per_bucket_counts_become_a_cumulative_histogram() -> None:
    counts = {
        ("celery_task_runtime_bucket", (*LABELS, "0.25")): 2.0,
        ("celery_task_runtime_bucket", (*LABELS, "1.0")): 1.0,
        ("celery_task_runtime_bucket", (*LABELS, INF)): 1.0,
        ("celery_task_runtime_sum", LABELS): 4000.7,
        ("celery_task_sent_total", LABELS): 9.0,
    }
    (found,) = histograms(counts, "celery_task_runtime").values()
    buckets = dict(found.buckets)
    assert buckets["0.1"] == 0 and buckets["0.25"] == 2 and buckets["0.5"] == 2
    assert buckets["1.0"] == 3 and buckets["1800.0"] == 3 and buckets[INF] == 4
    assert found.total == 4000.7


def test_a_worker_is_up_while_its_heartbeat_is_fresh() -> None:
    assert up_workers({"a@h": 100.0, "b@h": 60.0}, now=120.0, timeout_s=30.0) == {
        "a@h": 1,
        "b@h": 0,
    }


def test_fields_round_trip() -> None:
    assert decode(encode("celery_task_failed_total", ("n", "h", "KeyError", "q"))) == (
        "celery_task_failed_total",
        ("n", "h", "KeyError", "q"),
    )
