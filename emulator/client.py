"""`EmulatorAdmin`: the ``/_emulator`` admin API from Python, for tests, benchmarks and the demo."""

from __future__ import annotations

from typing import Any

import httpx


class EmulatorAdmin:
    """Thin typed calls over an ``httpx.Client`` whose base URL is the emulator's root."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def _post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.client.post(f"/_emulator{path}", json=body)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def _get(self, path: str) -> dict[str, Any]:
        response = self.client.get(f"/_emulator{path}")
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def stats(self) -> dict[str, Any]:
        """``GET /_emulator/stats``."""
        return self._get("/stats")

    def config(self) -> dict[str, Any]:
        """``GET /_emulator/config``."""
        return self._get("/config")

    def reset(self) -> dict[str, Any]:
        """Drop jobs, counters and injected faults; restore the start-up knobs."""
        return self._post("/reset")

    def configure(self, **patch: Any) -> dict[str, Any]:
        """A partial update, e.g. ``configure(faults={"rate_limited": 0.1})``."""
        return self._post("/config", patch)

    def preset(self, name: str) -> dict[str, Any]:
        """Replace the knobs with a named preset."""
        return self._post("/preset", {"name": name})

    def limit_key(
        self,
        key: str,
        concurrency: int | None = None,
        rate_per_s: float | None = None,
        credits: int | None = None,
    ) -> dict[str, Any]:
        """Per-key concurrency, request rate and credit balance (None: no limit)."""
        body = {"key": key, "concurrency": concurrency, "rate_per_s": rate_per_s}
        return self._post("/keys", {**body, "credits": credits})

    def accept_keys(self, provider: str, keys: list[str] | None) -> dict[str, Any]:
        """Restrict ``provider`` to ``keys`` (None: any non-empty key)."""
        return self._post("/accept", {"provider": provider, "keys": keys})

    def rate_limit(self, key: str, count: int = 1, retry_after_s: float = 1.0) -> dict[str, Any]:
        """429 with Retry-After for the key's next ``count`` requests."""
        return self._post(
            "/inject/rate-limit", {"key": key, "count": count, "retry_after_s": retry_after_s}
        )

    def maintenance(
        self, duration_s: float, provider: str | None = None, retry_after: bool = True
    ) -> dict[str, Any]:
        """A maintenance window (crun 455, others 503) from now, for one provider or all;
        ``retry_after=False`` sends no Retry-After header."""
        body = {"provider": provider, "duration_s": duration_s, "retry_after": retry_after}
        return self._post("/inject/maintenance", body)
