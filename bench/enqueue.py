"""Enqueue speed and memory: 100,000 jobs through `Ledger.add` against a private redis-server.

Prints one JSON line: jobs/s and Redis bytes per job (INFO used_memory delta), next to a
same-run baseline of raw pipelined SETs of strings as long as the stored job JSON.
Goals: >= 5,000 jobs/s and <= 2,048 bytes per job.

    python -m bench.enqueue [--jobs 100000] [--chunk 1000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import redis

from config.redis import redis_client
from config.settings import ProviderName, Settings
from devstack import start_redis
from jobs.ledger import Ledger, encode
from jobs.models import Job, Priority, job_id_for
from jobs.request import EditRequest

GOAL_JOBS_PER_S = 5_000
GOAL_BYTES_PER_JOB = 2_048
BATCH = "nightly-2025-01-01"
PROMPT = "Turn the scene into a snowy winter evening, warm street lights, keep the people unchanged"


def make_jobs(count: int) -> list[Job]:
    """``count`` queued jobs of one batch, shaped like a library manifest's rows."""
    now = datetime.now(UTC)
    jobs = []
    for index in range(count):
        item = f"library/season-{index % 7:02d}/clip-{index:06d}"
        request = EditRequest(video_url=f"https://media.example.com/{item}.mp4", prompt=PROMPT)
        jobs.append(Job(id=job_id_for(BATCH, item), batch=BATCH, item=item,
                        provider=ProviderName.SEGMIND, request=request,
                        source=f"s3://library/{item}.mp4", priority=Priority.BULK,
                        estimated_cost_usd=1.125, created_at=now, updated_at=now))  # fmt: skip
    return jobs


def used_memory(client: redis.Redis[bytes]) -> int:
    return int(client.info("memory")["used_memory"])


def measure(
    client: redis.Redis[bytes],
    chunks: Sequence[Sequence[Job]],
    write: Callable[[Sequence[Job]], object],
) -> tuple[float, int]:
    """Seconds spent in ``write`` over all chunks, and the Redis memory it added."""
    before = used_memory(client)
    started = time.perf_counter()
    for chunk in chunks:
        write(chunk)
    elapsed = time.perf_counter() - started
    return elapsed, used_memory(client) - before


def raw_sets(client: redis.Redis[bytes], payload: str) -> Callable[[Sequence[Job]], None]:
    """The baseline writer: one pipelined SET per job of a string as long as its JSON."""

    def write(chunk: Sequence[Job]) -> None:
        pipe = client.pipeline(transaction=False)
        for job in chunk:
            pipe.set(f"restyle:job:{job.id}", payload)
        pipe.execute()

    return write


def run(count: int, chunk_size: int, workdir: Path) -> dict[str, float | int | bool]:
    jobs = make_jobs(count)
    chunks = [jobs[i : i + chunk_size] for i in range(0, count, chunk_size)]
    service = start_redis(workdir)
    client = redis_client(Settings(redis_url=service.url))
    try:
        ledger = Ledger(client)
        seconds, memory = measure(client, chunks, ledger.add)
        created = sum(ledger.batch_counts(BATCH).values())
        client.flushall()
        payload = "x" * len(encode(jobs[0]))
        base_seconds, base_memory = measure(client, chunks, raw_sets(client, payload))
    finally:
        client.close()
        service.stop()
    jobs_per_s = count / seconds
    bytes_per_job = memory / count
    return {
        "jobs": count,
        "created": created,
        "jobs_per_s": round(jobs_per_s),
        "redis_bytes_per_job": round(bytes_per_job),
        "json_bytes_per_job": len(payload),
        "baseline_sets_per_s": round(count / base_seconds),
        "baseline_bytes_per_key": round(base_memory / count),
        "speed_ratio_vs_baseline": round(jobs_per_s / (count / base_seconds), 3),
        "memory_ratio_vs_baseline": round(memory / max(base_memory, 1), 3),
        "meets_speed_goal": jobs_per_s >= GOAL_JOBS_PER_S,
        "meets_memory_goal": bytes_per_job <= GOAL_BYTES_PER_JOB,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=1_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="restyle-bench-") as workdir:
        print(json.dumps(run(args.jobs, args.chunk, Path(workdir))))


if __name__ == "__main__":
    main()
