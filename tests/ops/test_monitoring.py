"""The shipped Prometheus alerts and Grafana dashboard: well formed, and every expression names
only metrics that restyle's /metrics really serves (read from its collectors, not a list)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from prometheus_client import CollectorRegistry, generate_latest

from config.settings import ProviderName, Settings
from devstack import Service as Process
from devstack.stack import dev_key
from jobs.task_counts import TaskCounts
from web.celery_metrics import CeleryCollector
from web.metrics import CALLBACK_REGISTRY, JobCollector
from web.service import Service

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yaml"
DASHBOARD = ROOT / "deploy" / "grafana" / "restyle.json"

PROMQL_WORDS = {
    "sum", "min", "max", "avg", "count", "stddev", "topk", "bottomk", "quantile", "rate",
    "irate", "increase", "delta", "idelta", "deriv", "histogram_quantile", "absent",
    "absent_over_time", "max_over_time", "min_over_time", "avg_over_time", "clamp_min",
    "clamp_max", "time", "vector", "scalar", "by", "without", "on", "ignoring", "group_left",
    "group_right", "and", "or", "unless", "bool", "offset", "le", "inf", "nan",
}  # fmt: skip
DURATION = re.compile(r"^\d+[smhdwy]$")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (labels, functions and strings left out)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    words = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", text))
    return {w for w in words if w.lower() not in PROMQL_WORDS and not DURATION.match(w)}


def exported(registries: list[CollectorRegistry]) -> set[str]:
    """Every sample name the registries' families can carry (even those with no sample yet)."""
    names = set()
    for registry in registries:
        for family in registry.collect():
            names |= _sample_names(family.name, family.type)
    return names


def _sample_names(name: str, kind: str) -> set[str]:
    if kind == "counter":
        return {f"{name}_total", f"{name}_created"}
    if kind == "histogram":
        return {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    return {name}


@pytest.fixture
def served_names(redis_server: Process, redis_client: redis.Redis[bytes]) -> set[str]:
    keys = {f"RESTYLE_{p.value.upper()}__API_KEYS": dev_key(p) for p in ProviderName}
    settings = Settings(redis_url=redis_server.url, **_nested(keys))
    TaskCounts(redis_client).add({("celery_task_sent_total", ("restyle.submit", "h", "submit")): 1})
    registry = CollectorRegistry()
    service = Service.from_settings(settings)
    registry.register(JobCollector(service))
    registry.register(CeleryCollector(service))
    assert b"celery_task_sent_total{" in generate_latest(registry)  # it reads Redis
    return exported([registry, CALLBACK_REGISTRY])


def _nested(keys: dict[str, str]) -> dict[str, Any]:
    """Settings keyword arguments giving each provider its dev key."""
    return {name.value: {"api_keys": [keys[f"RESTYLE_{name.value.upper()}__API_KEYS"]]}
            for name in ProviderName}  # fmt: skip


def rules() -> Iterator[dict[str, Any]]:
    import yaml

    doc = yaml.safe_load(ALERTS.read_text())
    assert set(doc) == {"groups"}
    for group in doc["groups"]:
        assert group["name"] and group["rules"]
        yield from group["rules"]


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])  # panels inside a collapsed row


def test_metric_names_are_read_from_promql() -> None:
    expr = ('histogram_quantile(0.95, sum by (le, name) (rate(celery_task_runtime_bucket'
            '{name="restyle.submit"}[15m]))) > 60 and on(provider) restyle_spend_usd')  # fmt: skip
    assert metric_names(expr) == {"celery_task_runtime_bucket", "restyle_spend_usd"}


def test_every_alert_is_well_formed_and_reads_served_metrics(served_names: set[str]) -> None:
    assert {"celery_task_sent_total", "celery_task_runtime_bucket", "celery_worker_up",
            "celery_queue_length", "restyle_jobs"} <= served_names  # fmt: skip
    names = []
    for rule in rules():
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", rule["alert"])
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert rule["annotations"]["summary"]
        if "for" in rule:
            assert DURATION.match(rule["for"])
        used = metric_names(rule["expr"])
        assert used and used <= served_names, (rule["alert"], used - served_names)
        names.append(rule["alert"])
    assert len(names) == len(set(names))


def test_every_dashboard_panel_reads_served_metrics(served_names: set[str]) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    found = list(panels(dashboard))
    assert found
    for panel in found:
        if panel["type"] in {"row", "text"}:
            continue
        exprs = [target["expr"] for target in panel["targets"]]
        assert exprs, panel["title"]
        for expr in exprs:
            used = metric_names(expr)
            assert used and used <= served_names, (panel["title"], used - served_names)
    assert len({panel["id"] for panel in found}) == len(found)


def test_a_misspelt_metric_is_caught(served_names: set[str]) -> None:
    assert not metric_names("sum(celery_workers_up)") <= served_names
