"""Orchestration overhead: jobs through submit -> poll -> archive against an instant emulator.

2,000 jobs (zero processing time, small outputs, provider limits lifted) on two worker
processes; jobs/s from dispatch to the last STORED. Baseline in the same run, same Redis, same
worker count and concurrency, same Celery settings: plain no-op tasks/s. Goal: ratio >= 0.20
(a job is at least three tasks, two provider HTTP calls, an output download and an S3 write).

The emulator and moto's S3 run on the same cores as the workers, which the no-op baseline does
not pay for. So the run also gives a ceiling: the jobs/s of an ideal pipeline whose three tasks
cost no more than no-op tasks (their CPU per task, workers and Redis, measured in the baseline)
plus the emulator's and S3's measured CPU per job, on this machine's cores. ``ceiling_ratio`` is
the best ratio any implementation of three tasks per job could reach here, and
``share_of_ceiling`` how much of it restyle reaches.

    python -m bench.overhead [--jobs 2000] [--noop-tasks 5000] [--workers 2] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from collections.abc import Sequence
from typing import Any

import redis

from bench.noop_app import NOOP_QUEUE, NOOP_TASK
from bench.rig import (
    UNLIMITED,
    Producer,
    bench_stack,
    cpu_seconds,
    emulator_stats,
    make_jobs,
    provider_env,
    source_urls,
    wait_for_batch,
)
from config.redis import redis_client
from devstack import Stack
from devstack.stack import ALL_QUEUES
from jobs.states import JobState
from tasks.messages import dispatch_jobs

GOAL_RATIO = 0.20
TASKS_PER_JOB = 3
UNACKED = "unacked"
"""kombu's Redis hash of delivered, not yet acknowledged messages."""


def _drained(client: redis.Redis[bytes]) -> bool:
    return client.llen(NOOP_QUEUE) == 0 and client.hlen(UNACKED) == 0


def wait_drained(client: redis.Redis[bytes]) -> None:
    """Until the queue and the unacked hash are empty twice in a row, 20 ms apart.

    Twice: a message is briefly in neither while it is being delivered.
    """
    confirmed = 0
    while confirmed < 2:
        confirmed = confirmed + 1 if _drained(client) else 0
        time.sleep(0.02 if confirmed else 0.01)


def celery_cpu_s(stack: Stack) -> float:
    """CPU seconds of the workers and Redis so far: what Celery itself costs."""
    used = cpu_seconds(stack)
    return used["workers"] + used["redis"]


def noop_rate(stack: Stack, tasks: int, workers: int, concurrency: int) -> tuple[float, float]:
    """No-op tasks/s through ``workers`` Celery workers, from first send to last ack, and the
    CPU milliseconds (workers and Redis) per task."""
    for n in range(workers):
        stack.start_worker((NOOP_QUEUE,), concurrency, f"noop{n}", app="bench.noop_app")
    producer = Producer.of(stack)
    client = redis_client(producer.settings)
    cpu_before = celery_cpu_s(stack)
    started = time.perf_counter()
    with producer.app.producer_or_acquire() as publisher:
        for _ in range(tasks):
            producer.app.send_task(NOOP_TASK, queue=NOOP_QUEUE, producer=publisher)
    wait_drained(client)
    elapsed = time.perf_counter() - started
    cpu_ms = 1000 * (celery_cpu_s(stack) - cpu_before) / tasks
    for worker in stack.workers:
        worker.stop()
    stack.workers.clear()
    client.close()
    return tasks / elapsed, cpu_ms


def worker_env() -> dict[str, str]:
    """Fast polls, and provider limits lifted: this measures restyle, not a quota."""
    return {
        "RESTYLE_POLL_MAX_INTERVAL_S": "1",
        **provider_env(TYPICAL_DURATION_S="0.2", **UNLIMITED),
    }


def restyle_rate(stack: Stack, count: int, workers: int, concurrency: int) -> dict[str, Any]:
    """Run ``count`` jobs to the end; jobs/s and how they ended."""
    for n in range(workers):
        stack.start_worker(ALL_QUEUES, concurrency, f"restyle{n}", env=worker_env())
    producer = Producer.of(stack)
    batch = f"overhead-{uuid.uuid4().hex[:8]}"
    jobs = make_jobs(batch, source_urls(stack, 1) * count)
    producer.ledger.add(jobs)
    cpu_before = cpu_seconds(stack)
    started = time.perf_counter()
    dispatch_jobs(producer.app, jobs)
    counts = wait_for_batch(producer.ledger, batch, count, timeout_s=max(600, count))
    elapsed = time.perf_counter() - started
    cpu = {name: used - cpu_before.get(name, 0.0) for name, used in cpu_seconds(stack).items()}
    return {
        "seconds": elapsed,
        "stored": counts[JobState.STORED],
        "jobs_per_s": count / elapsed,
        "cpu_ms_per_job": {name: round(1000 * used / count, 1) for name, used in cpu.items()},
    }


def ceiling_jobs_per_s(cores: int, noop_cpu_ms: float, services_cpu_ms: float) -> float:
    """Jobs/s on ``cores`` cores if each job cost three no-op tasks plus the services' CPU."""
    return 1000 * cores / (TASKS_PER_JOB * noop_cpu_ms + services_cpu_ms)


def run(jobs: int, noop_tasks: int, workers: int, concurrency: int) -> dict[str, Any]:
    """The whole comparison; returns the JSON line's fields."""
    with bench_stack("overhead") as stack:
        stack.start_redis()
        stack.start_s3()
        stack.start_emulator("--preset", "calm", "--processing-time", "0")
        baseline, noop_cpu_ms = noop_rate(stack, noop_tasks, workers, concurrency)
        measured = restyle_rate(stack, jobs, workers, concurrency)
        requests = emulator_stats(stack)["requests_total"]
    ratio = measured["jobs_per_s"] / baseline
    cpu = measured["cpu_ms_per_job"]
    ceiling = ceiling_jobs_per_s(os.cpu_count() or 1, noop_cpu_ms, cpu["emulator"] + cpu["s3"])
    return {
        "bench": "overhead",
        "jobs": jobs,
        "stored": measured["stored"],
        "workers": workers,
        "concurrency": concurrency,
        "seconds": round(measured["seconds"], 2),
        "jobs_per_s": round(measured["jobs_per_s"], 2),
        "provider_requests_per_job": round(requests / jobs, 2),
        "cpu_ms_per_job": measured["cpu_ms_per_job"],
        "baseline_noop_tasks_per_s": round(baseline, 1),
        "baseline_cpu_ms_per_task": round(noop_cpu_ms, 2),
        "ratio": round(ratio, 3),
        "ceiling_jobs_per_s": round(ceiling, 1),
        "ceiling_ratio": round(ceiling / baseline, 3),
        "share_of_ceiling": round(measured["jobs_per_s"] / ceiling, 3),
        "goal_ratio": GOAL_RATIO,
        "meets_goal": ratio >= GOAL_RATIO and measured["stored"] == jobs,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.overhead")
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--noop-tasks", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.jobs, args.noop_tasks, args.workers, args.concurrency)))


if __name__ == "__main__":
    main()
