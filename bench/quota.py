"""Quota use: N jobs of T seconds on one API key of concurrency C, through restyle's limiter and
through plain Celery ``rate_limit`` (per worker, the limiter switched off), in the same run.

utilization = ideal makespan / measured makespan, with ideal = ceil(N / C) x T and measured from
the dispatch to the last job STORED. The baseline sets ``rate_limit`` to C / T submits a second
on each worker, the figure a Celery user would write; with W workers the cluster sends W times
that, and the provider answers the excess with 429. Both runs use the same stack, workers, job
time and poll cap (T / 10: detection delay belongs to the poll schedule, not to the limiter).
Goal: utilization >= 0.90 with zero concurrency 429s. Prints one JSON line.

    python -m bench.quota [--jobs 32] [--concurrency 4] [--job-time 8] [--workers 3]
"""

from __future__ import annotations

import argparse
import json
import math
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from bench.rig import Producer, bench_stack, emulator_client, source_urls, terminal_count
from config.catalogue import provider_spec
from config.redis import redis_client
from config.settings import ProviderName, Settings, key_id
from devstack import Stack
from devstack.stack import ALL_QUEUES, dev_key
from jobs.ledger import Ledger
from jobs.models import Job, Priority, job_id_for
from jobs.request import EditRequest
from jobs.states import JobState
from tasks.messages import dispatch_jobs

GOAL = 0.90
PROVIDER = ProviderName.AIMLAPI
"""A 429 (not a provider-side queue) past the key's concurrency, and one GET per poll."""
SUBMIT = "POST /v2/video/generations"


def worker_env(args: argparse.Namespace, limiter: bool) -> dict[str, str]:
    """The workers' settings: identical in both runs but for the limiter and ``rate_limit``."""
    prefix = f"RESTYLE_{PROVIDER.value.upper()}__"
    env = {
        "RESTYLE_POLL_MAX_INTERVAL_S": f"{args.job_time / 10:g}",
        "RESTYLE_HTTP_READ_TIMEOUT_S": "10",
        "RESTYLE_MAX_SUBMIT_ATTEMPTS": "100",
        prefix + "CONCURRENCY": str(args.concurrency),
        prefix + "RATE_PER_S": "100",
        prefix + "TYPICAL_DURATION_S": f"{args.job_time:g}",
    }
    if not limiter:
        env["RESTYLE_LIMITER_ENABLED"] = "false"
        env["RESTYLE_SUBMIT_RATE_LIMIT"] = rate_limit(args)
    return env


def rate_limit(args: argparse.Namespace) -> str:
    """Celery's per-worker ``rate_limit``: one slot's worth of submits, C / T a second."""
    return f"{args.concurrency / args.job_time:.4g}/s"


def make_jobs(producer: Producer, batch: str, urls: Sequence[str]) -> list[Job]:
    """One bulk job per URL, all on the benchmark's provider."""
    now = datetime.now(UTC)
    spec = provider_spec(PROVIDER, producer.settings)
    return [
        Job(id=job_id_for(batch, f"clip-{n:05d}"), batch=batch, item=f"clip-{n:05d}",
            provider=PROVIDER, request=EditRequest(video_url=url, prompt="make it winter"),
            source=url, priority=Priority.BULK, created_at=now, updated_at=now,
            estimated_cost_usd=spec.effective_price.estimate(spec.output_seconds))
        for n, url in enumerate(urls)
    ]  # fmt: skip


def reset(stack: Stack, args: argparse.Namespace) -> None:
    """Empty Redis (ledger and broker) and restart the emulator's key at concurrency C."""
    assert stack.redis is not None
    redis_client(Settings(redis_url=stack.redis.url)).flushall()
    with emulator_client(stack) as client:
        client.post("/_emulator/reset").raise_for_status()
        processing = {"min_s": args.job_time, "max_s": args.job_time}
        client.post("/_emulator/config", json={"processing": processing}).raise_for_status()
        limits = {"key": dev_key(PROVIDER), "concurrency": args.concurrency}
        client.post("/_emulator/keys", json=limits).raise_for_status()


def start_workers(stack: Stack, args: argparse.Namespace, env: dict[str, str]) -> None:
    """Start the workers at once and wait until every one is ready."""
    names = [f"quota{uuid.uuid4().hex[:6]}" for _ in range(args.workers)]
    with ThreadPoolExecutor(args.workers) as pool:
        list(pool.map(lambda name: stack.start_worker(
            ALL_QUEUES, args.worker_concurrency, name, "workers.app", env), names))  # fmt: skip


def stop_workers(stack: Stack) -> None:
    for worker in stack.workers:
        worker.stop()
    stack.workers.clear()


def wait_done(
    ledger: Ledger, batch: str, total: int, started: float, timeout_s: float
) -> float | None:
    """Seconds from ``started`` until every job is finished, or None after ``timeout_s``."""
    while time.monotonic() - started < timeout_s:
        if terminal_count(Counter(ledger.batch_counts(batch))) >= total:
            return time.monotonic() - started
        time.sleep(0.1)
    return None


def run(
    stack: Stack, args: argparse.Namespace, urls: Sequence[str], limiter: bool
) -> dict[str, Any]:
    """One measured run; the figures the JSON line reports for it."""
    reset(stack, args)
    start_workers(stack, args, worker_env(args, limiter))
    producer = Producer.of(stack)
    jobs = make_jobs(producer, f"quota-{uuid.uuid4().hex[:8]}", urls)
    producer.ledger.add(jobs)
    ideal = math.ceil(args.jobs / args.concurrency) * args.job_time
    started = time.monotonic()
    dispatch_jobs(producer.app, jobs)
    took = wait_done(producer.ledger, jobs[0].batch, len(jobs), started, 10 * ideal + 120)
    figures = tally(stack, producer, jobs, ideal, took)
    stop_workers(stack)
    return figures


def tally(
    stack: Stack, producer: Producer, jobs: list[Job], ideal: float, took: float | None
) -> dict[str, Any]:
    """The run's figures from the ledger and the emulator's own counters."""
    with emulator_client(stack) as client:
        stats = client.get("/_emulator/stats").json()
    answers = stats["requests"].get(PROVIDER.value, {}).get(SUBMIT, {})
    states = [job.state for job in producer.ledger.get_many([job.id for job in jobs])]
    kid = key_id(SecretStr(dev_key(PROVIDER)))
    return {
        "utilization": round(ideal / took, 3) if took else 0.0,
        "ideal_makespan_s": ideal,
        "measured_makespan_s": round(took, 2) if took else None,
        "concurrency_429s": answers.get("429", 0),
        "rate_limited_total": stats["rate_limited_total"],
        "peak_concurrent": stats["peak_concurrent"].get(PROVIDER.value, {}).get(kid, 0),
        "stored": sum(1 for state in states if state is JobState.STORED),
        "failed": sum(1 for state in states if state.terminal and state is not JobState.STORED),
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Run both configurations and print one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m bench.quota", description=__doc__)
    parser.add_argument("--jobs", type=int, default=32)
    parser.add_argument("--concurrency", type=int, default=4, help="the key's concurrency C")
    parser.add_argument("--job-time", type=float, default=8.0, help="remote job time T (s)")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--worker-concurrency", type=int, default=4)
    args = parser.parse_args(argv)
    with bench_stack("quota") as stack:
        stack.start_redis()
        stack.start_s3()
        stack.start_emulator("--preset", "calm")
        urls = source_urls(stack, args.jobs)
        limited = run(stack, args, urls, limiter=True)
        baseline = run(stack, args, urls, limiter=False)
    result = {"n": args.jobs, "concurrency": args.concurrency, "job_time_s": args.job_time,
              "workers": args.workers, "worker_concurrency": args.worker_concurrency, **limited,
              "goal": GOAL,
              "baseline": {"rate_limit_per_worker": rate_limit(args), **baseline}}  # fmt: skip
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
