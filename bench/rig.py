"""What the end-to-end benchmarks and the chaos run share: a stack that always stops, a real
clip in S3, jobs, the producer side (ledger + Celery app), and waiting for a batch to finish."""

from __future__ import annotations

import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import boto3
import httpx
from celery import Celery

from config.redis import redis_client
from config.settings import ProviderName, Settings
from devstack import Service, Stack
from devstack.s3 import MOTO_CREDENTIALS
from jobs.ledger import Ledger
from jobs.models import Job, Priority, job_id_for
from jobs.request import EditRequest
from jobs.states import JobState
from media.samples import make_clip

SOURCE_BUCKET = "bench-sources"
SOURCE_KEY = "source.mp4"
PROMPT = "make it winter"
UNLIMITED = {"CONCURRENCY": "1000", "RATE_PER_S": "10000"}
"""Provider limits lifted in the pipeline, for benchmarks that measure restyle, not a quota."""


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextmanager
def bench_stack(prefix: str, keep: bool = False) -> Iterator[Stack]:
    """A `Stack` in a fresh directory, stopped on exit, on Ctrl-C and on SIGTERM.

    The directory (service logs, Redis data) is removed afterwards unless ``keep``.
    """
    previous = signal.signal(signal.SIGTERM, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix=f"restyle-{prefix}-"))
    stack = Stack(workdir)
    try:
        yield stack
    finally:
        stack.stop()
        signal.signal(signal.SIGTERM, previous)
        if keep:
            print(f"logs kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def provider_env(**per_provider: str) -> dict[str, str]:
    """``RESTYLE_<PROVIDER>__<NAME>`` for every provider, e.g. ``TYPICAL_DURATION_S="1"``."""
    return {
        f"RESTYLE_{name.value.upper()}__{field}": value
        for name in ProviderName
        for field, value in per_provider.items()
    }


def s3_client(stack: Stack) -> Any:
    """A boto3 client of the stack's moto server, straight (not through any proxy)."""
    assert stack.s3 is not None
    return boto3.client(
        "s3",
        endpoint_url=stack.s3.url,
        region_name="us-east-1",
        aws_access_key_id=MOTO_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=MOTO_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def source_urls(stack: Stack, count: int, seconds: float = 1.5) -> list[str]:
    """``count`` distinct presigned URLs of one real clip in moto (one render at the emulator).

    The URLs differ (by their lifetime) so that every job's submit body is unique, which lets
    the emulator's ``by_key_and_body`` counter tell jobs apart.
    """
    client = s3_client(stack)
    client.create_bucket(Bucket=SOURCE_BUCKET)
    clip = make_clip(stack.workdir / "source.mp4", seconds=seconds)
    client.upload_file(str(clip), SOURCE_BUCKET, SOURCE_KEY, ExtraArgs={"ContentType": "video/mp4"})
    params = {"Bucket": SOURCE_BUCKET, "Key": SOURCE_KEY}
    return [
        client.generate_presigned_url("get_object", Params=params, ExpiresIn=86_400 + n)
        for n in range(count)
    ]


def make_jobs(batch: str, urls: Sequence[str], prompt: str = PROMPT) -> list[Job]:
    """One bulk job per URL, spread round-robin over the five providers."""
    now = datetime.now(UTC)
    providers = list(ProviderName)
    jobs = []
    for n, url in enumerate(urls):
        item = f"clip-{n:06d}"
        jobs.append(Job(id=job_id_for(batch, item), batch=batch, item=item,
                        provider=providers[n % len(providers)],
                        request=EditRequest(video_url=url, prompt=prompt), source=url,
                        priority=Priority.BULK, created_at=now, updated_at=now))  # fmt: skip
    return jobs


@dataclass
class Producer:
    """The producer side of a run: settings, ledger and a Celery app on the stack's broker."""

    settings: Settings
    ledger: Ledger
    app: Celery

    @classmethod
    def of(cls, stack: Stack) -> Producer:
        from workers.factory import create_app

        assert stack.s3 is not None
        settings = Settings(redis_url=stack.redis_url, s3_endpoint_url=stack.s3.url,
                            s3_bucket=stack.bucket, log_level="WARNING",
                            redis_wait_replicas=int(stack.sentinels is not None))  # fmt: skip
        client = redis_client(settings)
        ledger = Ledger.from_settings(settings, client)
        return cls(settings, ledger, create_app(settings))


def emulator_client(stack: Stack) -> httpx.Client:
    """An httpx client of the stack's emulator admin API."""
    assert stack.emulator is not None
    return httpx.Client(base_url=stack.emulator.url, timeout=30)


def configure_emulator(stack: Stack, patch: dict[str, Any]) -> None:
    """POST a partial config update to the emulator; raise on refusal."""
    with emulator_client(stack) as client:
        client.post("/_emulator/config", json=patch).raise_for_status()


def emulator_stats(stack: Stack) -> dict[str, Any]:
    """The emulator's counters."""
    with emulator_client(stack) as client:
        stats: dict[str, Any] = client.get("/_emulator/stats").json()
        return stats


def terminal_count(counts: Mapping[JobState, int]) -> int:
    """How many of the counted jobs are finished."""
    return sum(n for state, n in counts.items() if state.terminal)


def wait_for_batch(
    ledger: Ledger,
    batch: str,
    total: int,
    timeout_s: float,
    tick: Callable[[Counter[JobState]], None] | None = None,
    every_s: float = 0.2,
) -> Counter[JobState]:
    """Poll the batch's state counts until ``total`` jobs are terminal or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while True:
        counts = Counter(ledger.batch_counts(batch))
        if tick is not None:
            tick(counts)
        if terminal_count(counts) >= total or time.monotonic() >= deadline:
            return counts
        time.sleep(every_s)


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile of ``values`` (nearest rank; 0.0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def cpu_seconds(stack: Stack) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each kind of service of ``stack``."""
    import psutil

    groups: dict[str, list[Service | None]] = {
        "workers": list(stack.workers),
        "emulator": [stack.emulator],
        "s3": [stack.s3],
        "redis": [stack.redis],
    }
    used: dict[str, float] = {}
    for name, services in groups.items():
        used[name] = 0.0
        for service in services:
            if service is None or service.process is None or not service.alive:
                continue
            root = psutil.Process(service.process.pid)
            for process in [root, *root.children(recursive=True)]:
                try:
                    times = process.cpu_times()
                except psutil.NoSuchProcess:
                    continue
                used[name] += times.user + times.system
    return used
