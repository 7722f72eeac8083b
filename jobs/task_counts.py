"""Celery task counters kept in Redis, under celery-exporter's metric names and labels.

Every process that sends or runs tasks adds its counts here (``workers.task_events`` buffers
them and flushes every few seconds), and ``/metrics`` reads the totals at each scrape, so
operators find the metrics their dashboards and alerts already use (celery-exporter's
``celery_task_sent_total{name,hostname,queue_name}``...) without running the exporter.

Runtime histograms are kept per bucket (not cumulative) and summed at scrape.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import redis

from jobs import redis_keys

RUNTIME_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                   120.0, 300.0, 900.0, 1800.0)  # fmt: skip
"""Upper bounds (seconds) of ``celery_task_runtime``: from a no-op step to a stitch."""
INF = "+Inf"

Labels = tuple[str, ...]
Key = tuple[str, Labels]


def encode(metric: str, labels: Labels) -> str:
    return json.dumps([metric, *labels], separators=(",", ":"))


def decode(field: str) -> Key:
    metric, *labels = json.loads(field)
    return str(metric), tuple(str(label) for label in labels)


def bucket_of(seconds: float) -> str:
    """The histogram bucket (upper bound) a runtime falls in."""
    for bound in RUNTIME_BUCKETS:
        if seconds <= bound:
            return str(bound)
    return INF


@dataclass(frozen=True)
class Histogram:
    """One label set's runtime histogram: cumulative (bound, count) pairs, sum and count."""

    buckets: list[tuple[str, float]]
    total: float


def histograms(counts: Mapping[Key, float], metric: str) -> dict[Labels, Histogram]:
    """Per-bucket counts ``(metric + "_bucket", (*labels, bound))`` and sums
    ``(metric + "_sum", labels)`` as cumulative histograms per label set."""
    per: dict[Labels, dict[str, float]] = {}
    sums: dict[Labels, float] = {}
    for (name, labels), value in counts.items():
        if name == f"{metric}_bucket":
            per.setdefault(labels[:-1], {})[labels[-1]] = value
        elif name == f"{metric}_sum":
            sums[labels] = value
    out = {}
    for labels, found in per.items():
        running, buckets = 0.0, []
        for bound in [*map(str, RUNTIME_BUCKETS), INF]:
            running += found.get(bound, 0.0)
            buckets.append((bound, running))
        out[labels] = Histogram(buckets, sums.get(labels, 0.0))
    return out


def up_workers(heartbeats: Mapping[str, float], now: float, timeout_s: float) -> dict[str, int]:
    """Worker hostname -> 1 if it sent a heartbeat within ``timeout_s``, else 0."""
    return {host: int(now - at <= timeout_s) for host, at in heartbeats.items()}


class TaskCounts:
    """Add to and read the counters."""

    def __init__(self, client: redis.Redis[bytes]) -> None:
        self.client = client

    def add(self, deltas: Mapping[Key, float]) -> None:
        if not deltas:
            return
        pipe = self.client.pipeline(transaction=False)
        for (metric, labels), delta in deltas.items():
            pipe.hincrbyfloat(redis_keys.task_counts(), encode(metric, labels), delta)
        pipe.execute()

    def read(self) -> dict[Key, float]:
        raw = self.client.hgetall(redis_keys.task_counts())
        return {decode(field.decode()): float(value) for field, value in raw.items()}

    def heartbeat(self, hostname: str, at: float) -> None:
        self.client.hset(redis_keys.worker_heartbeats(), hostname, at)

    def gone(self, hostname: str) -> None:
        self.client.hdel(redis_keys.worker_heartbeats(), hostname)

    def heartbeats(self) -> dict[str, float]:
        raw = self.client.hgetall(redis_keys.worker_heartbeats())
        return {host.decode(): float(at) for host, at in raw.items()}
