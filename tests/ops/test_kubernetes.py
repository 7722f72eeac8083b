"""deploy/k8s: every overlay builds with `kubectl kustomize`, every document is valid against
Kubernetes' schemas (kubernetes-validate, strict) or KEDA's vendored CRD schemas, and the
manifests keep the rules of running restyle: probes, requests, grace periods longer than the
longest task, secrets from Secrets, workers that do not hide their backlog, KEDA per queue."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from config.settings import Settings
from workers.celery_config import QUEUES, TASK_ROUTES

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = sorted(path.name for path in (K8S / "overlays").iterdir())
KUBERNETES_VERSION = "1.32.0"
KEDA_SCHEMAS = {
    "ScaledObject": "keda-scaledobject.json",
    "TriggerAuthentication": "keda-triggerauthentication.json",
}
SECRET_WORDS = ("KEY", "PASSWORD", "SECRET", "TOKEN", "AUTH", "CREDENTIAL")

Doc = dict[str, Any]


def _strict(schema: Any) -> Any:
    """The schema with unknown properties refused, as ``kubernetes-validate --strict`` does
    (a misspelt ``minReplicaCont`` must fail, not be ignored)."""
    if isinstance(schema, dict):
        out = {key: _strict(value) for key, value in schema.items()}
        if out.get("type") == "object" and "properties" in out:
            out.setdefault("additionalProperties", False)
        return out
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


@cache
def keda_schema(kind: str) -> Any:
    schema = json.loads((K8S / "schemas" / KEDA_SCHEMAS[kind]).read_text())
    strict = _strict(schema)
    # metadata is the object's ObjectMeta, which the CRD leaves open.
    strict["properties"]["metadata"] = {"type": "object"}
    return strict


def build(overlay: str) -> list[Doc]:
    """The documents ``kubectl kustomize`` makes of ``overlay`` (a fresh copy each call)."""
    return copy.deepcopy(_built(overlay))


@cache
def _built(overlay: str) -> list[Doc]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed (.ci/run installs Debian's kubectl)")
    out = subprocess.run(
        [kubectl, "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, f"kubectl kustomize {overlay}: {out.stderr}"
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def schema_errors(doc: Doc) -> list[str]:
    """Why ``doc`` is not a valid object of its kind (empty: valid)."""
    name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
    try:
        if str(doc.get("apiVersion", "")).startswith("keda.sh/"):
            jsonschema.validate(doc, keda_schema(doc["kind"]))
        else:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except jsonschema.ValidationError as exc:  # kubernetes-validate's errors are these too
        return [f"{name}: {exc.message} at {list(exc.path)}"]
    except (kubernetes_validate.SchemaNotFoundError, KeyError) as exc:
        return [f"{name}: no schema: {exc}"]
    return []


def policy_errors(docs: list[Doc]) -> list[str]:
    """The rules of running restyle that a schema cannot say (see the module doc)."""
    errors = []
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    scaled = {d["spec"]["scaleTargetRef"]["name"]: d for d in docs if d["kind"] == "ScaledObject"}
    settings = Settings()
    longest = {
        "submit": settings.http_submit_read_timeout_s,
        "poll": settings.http_read_timeout_s,
        "archive": settings.archive_stall_s,
        "media": settings.media_stall_s,
    }
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        grace = pod.get("terminationGracePeriodSeconds")
        if grace is None:
            errors.append(f"{name}: no terminationGracePeriodSeconds")
        for container in pod["containers"]:
            where = f"{name}/{container['name']}"
            if not (container.get("livenessProbe") or container.get("readinessProbe")):
                errors.append(f"{where}: no probe")
            requests = container.get("resources", {}).get("requests", {})
            if not {"cpu", "memory"} <= set(requests):
                errors.append(f"{where}: no cpu and memory requests")
            for env in container.get("env", []):
                if any(word in env["name"] for word in SECRET_WORDS) and "value" in env:
                    errors.append(f"{where}: {env['name']} given in clear, not from a Secret")
            if not name.startswith("worker-"):
                continue
            role = name.removeprefix("worker-")
            command = container["command"]
            if "--disable-prefetch" not in command:
                errors.append(f"{where}: prefetching hides the backlog from KEDA")
            if grace is not None and grace <= longest.get(role, 0):
                errors.append(f"{where}: grace {grace}s is not longer than {longest[role]}s")
            queues = set(command[command.index("-Q") + 1].split(","))
            listed = {
                trigger["metadata"].get("listName")
                for trigger in scaled.get(name, {}).get("spec", {}).get("triggers", [])
            }
            if queues - listed:
                errors.append(f"{name}: no KEDA trigger on {sorted(queues - listed)}")
            if scaled.get(name, {}).get("spec", {}).get("minReplicaCount", 0) < 1:
                errors.append(f"{name}: KEDA may scale it to zero")
    served = {q for name, d in deployments.items() if name.startswith("worker-")
              for c in d["spec"]["template"]["spec"]["containers"]
              for q in c["command"][c["command"].index("-Q") + 1].split(",")}  # fmt: skip
    if missing := set(QUEUES) - served:
        errors.append(f"no worker serves {sorted(missing)}")
    if deployments.get("beat", {}).get("spec", {}).get("replicas") != 1:
        errors.append("beat must run as one replica")
    return errors


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_overlay_builds_valid_documents_that_keep_the_rules(overlay: str) -> None:
    docs = build(overlay)
    kinds = {doc["kind"] for doc in docs}
    assert {"Deployment", "ScaledObject", "TriggerAuthentication", "Service"} <= kinds
    errors = [error for doc in docs for error in schema_errors(doc)] + policy_errors(docs)
    assert errors == []


def test_the_overlays_are_plain_and_sentinel() -> None:
    assert OVERLAYS == ["plain", "sentinel"]
    triggers = {
        overlay: {
            trigger["type"]
            for doc in build(overlay)
            if doc["kind"] == "ScaledObject"
            for trigger in doc["spec"]["triggers"]
        }
        for overlay in OVERLAYS
    }
    assert triggers == {"plain": {"redis"}, "sentinel": {"redis-sentinel"}}


def test_a_broken_manifest_fails() -> None:
    docs = build("plain")
    deployment = next(d for d in docs if d["metadata"]["name"] == "worker-submit")
    scaled = next(d for d in docs if d["kind"] == "ScaledObject")

    typo = copy.deepcopy(scaled)
    typo["spec"]["minReplicaCont"] = typo["spec"].pop("minReplicaCount")
    assert schema_errors(typo)
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = "long"
    assert schema_errors(wrong_type)
    no_target = copy.deepcopy(scaled)
    del no_target["spec"]["scaleTargetRef"]
    assert schema_errors(no_target)

    hiding = copy.deepcopy(deployment)
    hiding["spec"]["template"]["spec"]["containers"][0]["command"].remove("--disable-prefetch")
    short = copy.deepcopy(deployment)
    short["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 30
    rest = [d for d in docs if d is not deployment]
    assert any("prefetching" in e for e in policy_errors([*rest, hiding]))
    assert any("grace 30s" in e for e in policy_errors([*rest, short]))


def test_every_task_queue_is_a_known_queue() -> None:
    # The KEDA triggers are checked against worker -Q lists; those must be real queues.
    assert {route["queue"] for route in TASK_ROUTES.values()} <= set(QUEUES)
