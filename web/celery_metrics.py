"""``/metrics``' Celery and fleet part: celery-exporter's names, plus circuits and leases.

Read from Redis at each scrape, like the rest of ``/metrics``:

- ``celery_task_{sent,received,started,succeeded,failed,retried}_total`` and the
  ``celery_task_runtime`` histogram, with celery-exporter's labels (``name``, ``hostname``,
  ``queue_name``; ``exception`` on failures), counted by every process (workers.task_events);
- ``celery_worker_up{hostname}``: 1 while the worker's heartbeat is fresh;
- ``celery_queue_length{queue_name}``: messages waiting in each queue's Redis list (what KEDA
  scales on; countdown messages held by workers are not waiting);
- ``restyle_circuit_state{provider,key_id,state}``: 1 for each key's breaker state;
- ``restyle_leased_work{kind}``: jobs and clips a live worker holds a liveness lease on.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from config.settings import ProviderName, key_id
from jobs.limits.breaker import CircuitState
from jobs.limits.breaker_store import Breakers
from jobs.liveness.lease import Holder
from jobs.liveness.store import Leases, job_subject
from jobs.states import JobState
from jobs.task_counts import Key, TaskCounts, histograms, up_workers
from pipeline.context import breaker_policy
from web.service import Service
from workers.celery_config import QUEUES

TASK_LABELS = ["name", "hostname", "queue_name"]
FAILED_LABELS = ["name", "hostname", "exception", "queue_name"]
COUNTERS = {
    "celery_task_sent": ("Sent when a task message is published.", TASK_LABELS),
    "celery_task_received": ("Sent when the worker receives a task.", TASK_LABELS),
    "celery_task_started": ("Sent just before the worker executes the task.", TASK_LABELS),
    "celery_task_succeeded": ("Sent if the task executed successfully.", TASK_LABELS),
    "celery_task_failed": ("Sent if the execution of the task failed.", FAILED_LABELS),
    "celery_task_retried": ("Sent if the task failed, but will be retried.", TASK_LABELS),
}
WORKER_TIMEOUT_S = 30.0
"""A worker whose heartbeat (every 2 s) is older than this is down."""


def counter_metrics(counts: Mapping[Key, float]) -> Iterator[Metric]:
    """The task counters and the runtime histogram of ``counts``."""
    for name, (doc, labels) in COUNTERS.items():
        family = CounterMetricFamily(name, doc, labels=labels)
        for (metric, values), total in sorted(counts.items()):
            if metric == f"{name}_total" and len(values) == len(labels):
                family.add_metric(list(values), total)
        yield family
    runtime = HistogramMetricFamily(
        "celery_task_runtime", "Histogram of task runtime measurements.", labels=TASK_LABELS
    )
    for values, found in sorted(histograms(counts, "celery_task_runtime").items()):
        runtime.add_metric(list(values), found.buckets, found.total)
    yield runtime


class CeleryCollector(Collector):
    """The Celery and fleet gauges and counters, read at scrape time."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        svc = self.service
        store = TaskCounts(svc.redis)
        yield from counter_metrics(store.read())
        up = GaugeMetricFamily(
            "celery_worker_up",
            "Indicates if a worker has recently sent a heartbeat.",
            labels=["hostname"],
        )
        for host, value in sorted(
            up_workers(store.heartbeats(), time.time(), WORKER_TIMEOUT_S).items()
        ):
            up.add_metric([host], value)
        yield up
        queues = GaugeMetricFamily(
            "celery_queue_length", "The number of message in broker queue.", labels=["queue_name"]
        )
        pipe = svc.redis.pipeline(transaction=False)
        for queue in QUEUES:
            pipe.llen(queue)
        for queue, length in zip(QUEUES, pipe.execute(), strict=True):
            queues.add_metric([queue], float(length))
        yield queues
        yield self._circuits()
        yield self._leases()

    def _circuits(self) -> Metric:
        family = GaugeMetricFamily(
            "restyle_circuit_state",
            "1 for the state each API key's circuit breaker is in",
            labels=["provider", "key_id", "state"],
        )
        settings = self.service.settings
        pairs = [(name.value, key_id(key)) for name in ProviderName
                 for key in settings.provider(name).api_keys]  # fmt: skip
        now = time.time()
        circuits = Breakers(self.service.redis, breaker_policy(settings)).get_many(pairs)
        for (provider, key), circuit in zip(pairs, circuits, strict=True):
            current = circuit.effective(now)
            for state in CircuitState:
                family.add_metric([provider, key, state.value], float(state is current))
        return family

    def _leases(self) -> Metric:
        family = GaugeMetricFamily(
            "restyle_leased_work",
            "jobs a live worker holds a liveness lease on, by state",
            labels=["state"],
        )
        leases = Leases(self.service.redis)
        ledger = self.service.ledger
        for state in (JobState.SUBMITTING, JobState.ARCHIVING):
            ids = ledger.ids_in_state(state)
            views = leases.read([job_subject(job_id) for job_id in ids])
            live = sum(view.holder is Holder.LIVE for view in views.values())
            family.add_metric([state.value], float(live))
        return family
