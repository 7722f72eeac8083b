"""Counters read from ``GET /_emulator/stats``: what a real provider would have seen.

Keys appear only as key ids. "Paid" means a new remote job was created (and charged); a submit
answered from the idempotency index is a request but not a payment.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from typing import Any

from config.settings import ProviderName
from emulator.jobs import phase_at
from emulator.store import JobStore

HISTORY_SECONDS = 3600
NO_KEY = "-"


def body_hash(kid: str, body: dict[str, Any]) -> str:
    """A short hash of (key id, request body), to find the same request paid twice."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{kid}\n{canonical}".encode()).hexdigest()[:16]


class Stats:
    """Request, submission, fault and callback counters."""

    def __init__(self) -> None:
        self.requests: dict[str, dict[str, Counter[str]]] = defaultdict(
            lambda: defaultdict(Counter)
        )
        self.per_second: dict[tuple[str, str], Counter[int]] = defaultdict(Counter)
        self.paid: Counter[str] = Counter()
        self.submit_requests = 0
        self.replayed = 0
        self.paid_by_idempotency_key: Counter[str] = Counter()
        self.requests_by_idempotency_key: Counter[str] = Counter()
        self.paid_by_key_and_body: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.rate_limited_total = 0
        self.callbacks_sent = 0
        self.callbacks_failed = 0

    def request(
        self, provider: str, endpoint: str, status: int | str, kid: str, now: float
    ) -> None:
        """Count one answered (or dropped) API request."""
        self.requests[provider][endpoint][str(status)] += 1
        if status == 429:
            self.rate_limited_total += 1
        seconds = self.per_second[(provider, kid)]
        second = int(now)
        if second not in seconds and len(seconds) >= HISTORY_SECONDS:
            del seconds[min(seconds)]
        seconds[second] += 1

    def submission(self, idempotency_key: str | None, fingerprint: str, paid: bool) -> None:
        """Count one accepted submit; ``paid`` when it created a new remote job."""
        self.submit_requests += 1
        if idempotency_key:
            self.requests_by_idempotency_key[idempotency_key] += 1
        if not paid:
            self.replayed += 1
            return
        if idempotency_key:
            self.paid_by_idempotency_key[idempotency_key] += 1
        self.paid_by_key_and_body[fingerprint] += 1

    def charge(self, provider: ProviderName) -> None:
        """Count one paid job of ``provider``."""
        self.paid[provider.value] += 1

    def snapshot(self, store: JobStore, now: float) -> dict[str, Any]:
        """Everything, as JSON-ready data."""
        return {
            "requests": {
                p: {e: dict(c) for e, c in eps.items()} for p, eps in self.requests.items()
            },
            "requests_total": sum(
                sum(c.values()) for eps in self.requests.values() for c in eps.values()
            ),
            "jobs_by_state": _jobs_by_state(store, now),
            "peak_concurrent": _by_provider(store.peak),
            "current_concurrent": _by_provider(store.current()),
            "submissions": self._submissions(),
            "requests_per_second": self._per_second(),
            "max_requests_per_second": {
                p: {k: max(c.values(), default=0) for k, c in keys.items()}
                for p, keys in _nest(self.per_second).items()
            },
            "rate_limited_total": self.rate_limited_total,
            "faults": dict(self.faults),
            "callbacks_sent": self.callbacks_sent,
            "callbacks_failed": self.callbacks_failed,
        }

    def _submissions(self) -> dict[str, Any]:
        duplicates = [
            {"kind": kind, "id": ident, "paid": count}
            for kind, counter in (
                ("idempotency_key", self.paid_by_idempotency_key),
                ("key_and_body", self.paid_by_key_and_body),
            )
            for ident, count in counter.items()
            if count > 1
        ]
        return {
            "requests": self.submit_requests,
            "paid_total": sum(self.paid.values()),
            "paid_by_provider": dict(self.paid),
            "replayed": self.replayed,
            "by_idempotency_key": dict(self.paid_by_idempotency_key),
            "requests_by_idempotency_key": dict(self.requests_by_idempotency_key),
            "by_key_and_body": dict(self.paid_by_key_and_body),
            "duplicates": duplicates,
        }

    def _per_second(self) -> dict[str, dict[str, dict[str, int]]]:
        return {
            p: {k: {str(s): n for s, n in sorted(c.items())} for k, c in keys.items()}
            for p, keys in _nest(self.per_second).items()
        }


def _nest(flat: dict[tuple[str, str], Counter[int]]) -> dict[str, dict[str, Counter[int]]]:
    nested: dict[str, dict[str, Counter[int]]] = defaultdict(dict)
    for (provider, kid), counter in flat.items():
        nested[provider][kid] = counter
    return nested


def _by_provider(values: dict[tuple[ProviderName, str], int]) -> dict[str, dict[str, int]]:
    nested: dict[str, dict[str, int]] = defaultdict(dict)
    for (provider, kid), count in values.items():
        nested[provider.value][kid] = count
    return nested


def _jobs_by_state(store: JobStore, now: float) -> dict[str, dict[str, int]]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for job in store:
        counts[job.provider.value][phase_at(job, now).value] += 1
    return {provider: dict(counter) for provider, counter in counts.items()}
