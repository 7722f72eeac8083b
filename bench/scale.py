"""Scale: one 10,000-job batch end to end; wall time, Redis peak memory and time to enqueue.

Jobs take ``--processing-s`` at the emulator (1 s by default; provider limits lifted) on two
workers. Enqueueing is what the producer does after preflight: the batch record, the ledger
and one submit message per job. Baseline in the same run and stack: a batch of 1/20 the size
(at least 100 jobs) first; ``ratio`` is the big batch's jobs/s over the small one's, so 1.0
means the machinery does not slow down with the size of the batch.

    python -m bench.scale [--jobs 10000] [--processing-s 1] [--workers 2] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import redis

from bench.rig import (
    UNLIMITED,
    Producer,
    bench_stack,
    make_jobs,
    provider_env,
    source_urls,
    wait_for_batch,
)
from config.redis import redis_client
from devstack import Stack
from devstack.stack import ALL_QUEUES
from jobs.batches import Batch, BatchStore
from jobs.states import JobState
from tasks.messages import dispatch_jobs

MB = 1_000_000


def worker_env(processing_s: float) -> dict[str, str]:
    """Typical time set to the emulator's processing time; provider limits lifted."""
    typical = str(max(processing_s, 0.1))
    return {
        "RESTYLE_POLL_MAX_INTERVAL_S": "5",
        **provider_env(TYPICAL_DURATION_S=typical, **UNLIMITED),
    }


def run_batch(stack: Stack, producer: Producer, url: str, count: int) -> dict[str, Any]:
    """Enqueue and run one batch of ``count`` jobs; seconds for each phase."""
    batch = f"scale-{uuid.uuid4().hex[:8]}"
    jobs = make_jobs(batch, [url] * count)
    started = time.perf_counter()
    BatchStore(producer.ledger.client).create(
        Batch(name=batch, created_at=datetime.now(UTC), total_jobs=count)
    )
    producer.ledger.add(jobs)
    added = time.perf_counter()
    dispatch_jobs(producer.app, jobs)
    enqueued = time.perf_counter()
    counts = wait_for_batch(producer.ledger, batch, count, timeout_s=600 + count, every_s=1.0)
    finished = time.perf_counter()
    return {
        "enqueue_s": enqueued - started,
        "ledger_s": added - started,
        "dispatch_s": enqueued - added,
        "wall_s": finished - started,
        "stored": counts[JobState.STORED],
        "jobs_per_s": count / (finished - started),
    }


def memory(client: redis.Redis[bytes]) -> tuple[int, int]:
    """Redis used_memory and used_memory_peak (since start: the big batch's), in bytes."""
    info = client.info("memory")
    return int(info["used_memory"]), int(info["used_memory_peak"])


def run(jobs: int, processing_s: float, workers: int, concurrency: int) -> dict[str, Any]:
    """The small batch, then the big one; returns the JSON line's fields."""
    with bench_stack("scale") as stack:
        stack.start_redis()
        stack.start_s3()
        stack.start_emulator("--preset", "calm", "--processing-time", str(processing_s))
        for n in range(workers):
            stack.start_worker(ALL_QUEUES, concurrency, f"scale{n}", env=worker_env(processing_s))
        producer = Producer.of(stack)
        url = source_urls(stack, 1)[0]
        small = run_batch(stack, producer, url, max(100, jobs // 20))
        client = redis_client(producer.settings)
        before, _ = memory(client)
        big = run_batch(stack, producer, url, jobs)
        after, peak = memory(client)
    return {
        "bench": "scale",
        "jobs": jobs,
        "stored": big["stored"],
        "workers": workers,
        "concurrency": concurrency,
        "processing_s": processing_s,
        "enqueue_s": round(big["enqueue_s"], 2),
        "enqueue_jobs_per_s": round(jobs / big["enqueue_s"]),
        "enqueue_ledger_s": round(big["ledger_s"], 2),
        "enqueue_dispatch_s": round(big["dispatch_s"], 2),
        "wall_s": round(big["wall_s"], 1),
        "jobs_per_s": round(big["jobs_per_s"], 2),
        "redis_used_mb_before": round(before / MB, 1),
        "redis_peak_mb": round(peak / MB, 1),
        "redis_used_mb_after": round(after / MB, 1),
        "redis_peak_bytes_per_job": round((peak - before) / jobs),
        "baseline_jobs": max(100, jobs // 20),
        "baseline_jobs_per_s": round(small["jobs_per_s"], 2),
        "ratio": round(big["jobs_per_s"] / small["jobs_per_s"], 3),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale")
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--processing-s", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.jobs, args.processing_s, args.workers, args.concurrency)))


if __name__ == "__main__":
    main()
