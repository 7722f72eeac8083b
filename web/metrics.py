"""``/metrics`` for Prometheus, behind the same authentication as the pages.

Read from Redis at each scrape (the job index, the budgets, the limiter), so every web process
reports the same numbers and nothing is double counted by running two:

- ``restyle_jobs{state,provider}``: jobs of the known batches by state;
- ``restyle_failures{kind,provider}``: FAILED and EXPIRED jobs by failure kind;
- ``restyle_paid_jobs{provider}``: jobs a provider accepted (each paid once at least);
- ``restyle_possible_double_payments{provider}``: jobs flagged as possibly paid twice;
- ``restyle_spend_usd{batch,basis}``, ``restyle_budget_usd{batch}``: spend (``billed`` by the
  providers, the ``maximum`` a provider said a running job may charge, or ``estimated`` where
  neither came) and limit;
- ``restyle_archived_bytes{provider}``: bytes of stored outputs;
- ``restyle_limiter_in_flight{provider,key_id}``, ``restyle_limiter_cooldown_seconds{...}``,
  ``restyle_limiter_effective_rate{...}``: each key's limiter;
- ``restyle_poll_detection_delay_seconds{provider}``: histogram of how late polls notice a
  finished job (an upper bound: the time since the last poll that saw it running);
- ``restyle_callbacks_total{outcome}``: crun callbacks received by this process.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client import Counter as PromCounter
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from config.settings import ProviderName
from jobs.budget import Budget
from pipeline import detection
from web.index import Row
from web.service import Service
from web.summary import FAILED_STATES
from web.views import provider_rows

Values = dict[tuple[str, ...], float]

CALLBACK_REGISTRY = CollectorRegistry()
CALLBACKS = PromCounter(
    "restyle_callbacks",
    "crun and OpenRouter callbacks received, by outcome (woken, recorded, ignored, duplicate,"
    " unknown_token, bad_signature, replayed)",
    ["outcome"],
    registry=CALLBACK_REGISTRY,
)


def _gauge(name: str, doc: str, labels: list[str], values: Mapping[Any, float]) -> Metric:
    family = GaugeMetricFamily(name, doc, labels=labels)
    for key, value in sorted(values.items()):
        family.add_metric(list(key), value)
    return family


class JobCollector(Collector):
    """Job, money and limiter gauges, read at scrape time."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        svc = self.service
        names = svc.summaries.names()
        rows: list[Row] = [row for name in names for row in svc.index.rows(name)]
        yield from job_metrics(rows)
        budget = Budget(svc.redis)
        spend: Values = {}
        limits: Values = {}
        for name in names:
            status = budget.status(name)
            spend[(name, "billed")] = status.billed_usd
            spend[(name, "estimated")] = status.estimated_usd
            spend[(name, "maximum")] = status.ceiling_usd
            if status.limit_usd is not None:
                limits[(name,)] = status.limit_usd
        # basis: what the providers billed; the most a provider said a running job may charge;
        # or (no bill yet, or none given) our estimate.
        yield _gauge("restyle_spend_usd", "USD spent with providers", ["batch", "basis"], spend)
        yield _gauge("restyle_budget_usd", "USD a batch may spend", ["batch"], limits)
        yield from limiter_metrics(svc)
        yield detection_metric(svc)


def job_metrics(rows: list[Row]) -> Iterator[Metric]:
    """The per-job gauges of ``rows``."""
    states = Counter((row.state.value, row.provider) for row in rows)
    failures = Counter(
        (row.failure_kind or "unknown", row.provider) for row in rows if row.state in FAILED_STATES
    )
    paid = Counter((row.provider,) for row in rows if row.paid)
    double = Counter((row.provider,) for row in rows if row.double_charges)
    stored: Values = {}
    for row in rows:
        stored[(row.provider,)] = stored.get((row.provider,), 0) + row.stored_bytes
    yield _gauge("restyle_jobs", "jobs by state", ["state", "provider"], states)
    yield _gauge("restyle_failures", "failed jobs by kind", ["kind", "provider"], failures)
    yield _gauge("restyle_paid_jobs", "jobs a provider accepted", ["provider"], paid)
    yield _gauge(
        "restyle_possible_double_payments", "jobs possibly paid twice", ["provider"], double
    )
    yield _gauge("restyle_archived_bytes", "bytes of stored outputs", ["provider"], stored)


def limiter_metrics(svc: Service) -> Iterator[Metric]:
    """Each configured key's in-flight slots, cooldown and effective rate."""
    labels = ["provider", "key_id"]
    in_flight: Values = {}
    cooldown: Values = {}
    rate: Values = {}
    for snap in provider_rows(svc):
        key = (snap["provider"], snap["key_id"])
        in_flight[key] = snap["in_flight"]
        cooldown[key] = snap["cooldown_remaining"]
        rate[key] = snap["effective_rate"]
    yield _gauge("restyle_limiter_in_flight", "slots held", labels, in_flight)
    yield _gauge("restyle_limiter_cooldown_seconds", "cooldown left", labels, cooldown)
    yield _gauge("restyle_limiter_effective_rate", "requests per second allowed", labels, rate)


def detection_metric(svc: Service) -> Metric:
    """The poll detection delay histogram the workers keep in Redis, per provider."""
    family = HistogramMetricFamily(
        "restyle_poll_detection_delay_seconds",
        "bound of how late a poll noticed a finished remote job (since the last poll that saw "
        "it running); jobs woken by callbacks are left out",
        labels=["provider"],
    )
    for name in ProviderName:
        found = detection.read(svc.redis, name.value)
        if found is not None:
            family.add_metric([name.value], found.buckets, found.total_s)
    return family


def exposition(registry: CollectorRegistry) -> bytes:
    """The text format of ``registry`` and of this process's callback counter."""
    return generate_latest(registry) + generate_latest(CALLBACK_REGISTRY)
