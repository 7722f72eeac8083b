"""``python -m bench.web``: the batch page of a 10,000-job batch, served by a real uvicorn.

Prints one JSON line: the first page (cold: the index reads the whole batch; warm: in memory),
a filter change (state, provider, item search), each the median of several requests, against
a same-run baseline: a bare pipelined Redis read of the same jobs' records.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import redis
import uvicorn

from config.redis import redis_client
from config.settings import ProviderName, Settings, WebSettings
from devstack import free_port, wait_for
from devstack.redis import start_redis
from jobs import redis_keys
from jobs.failures import FailureKind
from jobs.ledger import Ledger
from jobs.models import Job, job_id_for
from jobs.request import EditRequest
from jobs.states import JobState
from web.app import create_web_app

AUTH = ("bench", "bench-password")
PROVIDERS = list(ProviderName)


def seed(ledger: Ledger, batch: str, count: int) -> None:
    """``count`` jobs, a tenth of them FAILED, spread over the providers."""
    now = datetime.now(UTC)
    jobs = []
    for n in range(count):
        item = f"clip-{n:05d}"
        state = JobState.FAILED if n % 10 == 3 else JobState.QUEUED
        jobs.append(Job(
            id=job_id_for(batch, item), batch=batch, item=item,
            provider=PROVIDERS[n % len(PROVIDERS)],
            request=EditRequest(video_url="https://example.com/clip.mp4", prompt="winter"),
            source="https://example.com/clip.mp4", state=state, created_at=now, updated_at=now,
            failure_kind=FailureKind.MODERATION if state is JobState.FAILED else None,
            failure_message="flagged" if state is JobState.FAILED else None,
        ))  # fmt: skip
    for start in range(0, count, 1000):
        ledger.add(jobs[start : start + 1000])


def timed(action: Any, repeat: int) -> float:
    """Median milliseconds of ``repeat`` calls."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def bare_read(client: redis.Redis[bytes], batch: str) -> None:
    """The baseline: every job record of the batch, one pipeline, no parsing."""
    ids = client.smembers(redis_keys.batch_jobs(batch))
    pipe = client.pipeline(transaction=False)
    for job_id in ids:
        pipe.hget(redis_keys.job(job_id.decode()), "j")
    pipe.execute()


def run(count: int, repeat: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-web-"))
    server_redis = start_redis(workdir / "redis")
    try:
        return _measure(server_redis.url, count, repeat)
    finally:
        server_redis.stop()


def _measure(redis_url: str, count: int, repeat: int) -> dict[str, Any]:
    client = redis_client(Settings(redis_url=redis_url))
    seed(Ledger(client), "big", count)
    settings = Settings(redis_url=redis_url, web=WebSettings(users=[":".join(AUTH)]))
    app = create_web_app(settings, lambda jobs: None, lambda job_id: None)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: httpx.get(f"{base}/healthz").status_code == 200, 20, "restyle web")
    try:
        with httpx.Client(base_url=base, auth=AUTH, timeout=60) as http:
            rows = "/batches/big/rows"
            cold = timed(lambda: http.get(rows).raise_for_status(), 1)
            page = timed(lambda: http.get("/batches/big").raise_for_status(), repeat)
            first = timed(lambda: http.get(rows).raise_for_status(), repeat)
            filters = ["?state=FAILED", "?provider=crun", "?q=clip-0999", "?state=FAILED&page=3"]
            changes = [
                timed(lambda f=f: http.get(rows + f).raise_for_status(), repeat) for f in filters
            ]
            matching = http.get(rows + "?state=FAILED").json()["matching"]
    finally:
        server.should_exit = True
        thread.join(10)
    baseline = timed(lambda: bare_read(client, "big"), repeat)
    filter_ms = max(changes)
    return {
        "bench": "web", "jobs": count, "failed_matching": matching,
        "cold_first_rows_ms": round(cold, 1), "batch_page_ms": round(page, 1),
        "first_page_rows_ms": round(first, 1), "filter_change_ms": round(filter_ms, 1),
        "baseline_bare_redis_read_ms": round(baseline, 1),
        "first_page_vs_baseline": round(first / baseline, 3),
        "filter_vs_baseline": round(filter_ms / baseline, 3),
        "goals": {"first_page_ms": 200, "filter_change_ms": 300},
        "met": first < 200 and filter_ms < 300 and page < 200,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.web")
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.jobs, args.repeat)))


if __name__ == "__main__":
    main()
