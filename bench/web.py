"""``python -m bench.web``: the batch page of a 10,000-item batch (single jobs and one clip of
120 segments) and that clip's page, served by a real uvicorn.

Prints one JSON line: the batch's first page of items (cold: the index reads the whole batch;
warm: in memory), a filter change (state, provider, item search), the clip's page, each the
median of several requests, against a same-run baseline: a bare pipelined Redis read of the
same jobs' records.
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
from jobs.clips.record import Clip, ClipState, SegmentRef, clip_id_for
from jobs.clips.store import ClipStore
from jobs.failures import FailureKind
from jobs.ledger import Ledger
from jobs.models import Job, job_id_for, segment_job_id
from jobs.request import EditRequest
from jobs.states import JobState
from storage.objects import StoredObject
from web.app import create_web_app

AUTH = ("bench", "bench-password")
CLIP_SEGMENTS = 120
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


def seed_clip(ledger: Ledger, batch: str, segments: int) -> str:
    """One STORED clip of ``segments`` stored segments (each with its output); its id."""
    now = datetime.now(UTC)
    request = EditRequest(video_url="https://example.com/long.mp4", prompt="winter")
    clip_id = clip_id_for(batch, "long-master")
    refs = tuple(
        SegmentRef(index=n, job_id=segment_job_id(batch, "long-master", n),
                   staged=f"s3://staging/seg/{n:03d}.mp4", seconds=5.0)
        for n in range(1, segments + 1)
    )  # fmt: skip
    output = StoredObject(bucket="out", key="big/long-master.mp4", size=50_000_000,
                          sha256="ab" * 32, content_type="video/mp4")  # fmt: skip
    clip = Clip(id=clip_id, batch=batch, item="long-master", provider=ProviderName.SEGMIND,
                request=request, source="https://example.com/long.mp4",
                source_seconds=5.0 * segments, edit_seconds=5.0 * segments,
                planned_segments=segments, created_at=now, updated_at=now)  # fmt: skip
    store = ClipStore(ledger.client)
    store.add([clip])
    store.move(clip_id, ClipState.EDITING, expect={ClipState.CUTTING}, now=now, segments=refs)
    store.move(clip_id, ClipState.STITCHING, expect={ClipState.EDITING}, now=now)
    store.move(clip_id, ClipState.STORED, expect={ClipState.STITCHING}, now=now, output=output)
    jobs = [
        Job(id=ref.job_id, batch=batch, item="long-master", provider=ProviderName.SEGMIND,
            request=request, source=ref.staged, state=JobState.STORED, clip_id=clip_id,
            segment=ref.index, segment_seconds=5.0, remote_id=f"r-{ref.index}",
            estimated_cost_usd=1.125, created_at=now, updated_at=now,
            output=StoredObject(bucket="out", key=f"big/long-master/segments/{ref.index:03d}.mp4",
                                size=400_000, sha256="cd" * 32, content_type="video/mp4"))
        for ref in refs
    ]  # fmt: skip
    ledger.add(jobs)
    return clip_id


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
    # ``count`` items: one of them a clip of ``CLIP_SEGMENTS`` segments, the rest single jobs.
    seed(Ledger(client), "big", count - 1)
    clip_id = seed_clip(Ledger(client), "big", CLIP_SEGMENTS)
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
            clip_page = timed(lambda: http.get(f"/clips/{clip_id}").raise_for_status(), repeat)
            shown = http.get(f"/clips/{clip_id}").text.count('<tr data-segment="')
    finally:
        server.should_exit = True
        thread.join(10)
    baseline = timed(lambda: bare_read(client, "big"), repeat)
    filter_ms = max(changes)
    return {
        "bench": "web", "items": count, "jobs": count - 1 + CLIP_SEGMENTS,
        "failed_matching": matching, "clip_segments": CLIP_SEGMENTS, "clip_rows_shown": shown,
        "clip_page_ms": round(clip_page, 1),
        "cold_first_rows_ms": round(cold, 1), "batch_page_ms": round(page, 1),
        "first_page_rows_ms": round(first, 1), "filter_change_ms": round(filter_ms, 1),
        "baseline_bare_redis_read_ms": round(baseline, 1),
        "first_page_vs_baseline": round(first / baseline, 3),
        "filter_vs_baseline": round(filter_ms / baseline, 3),
        "clip_page_vs_baseline": round(clip_page / baseline, 3),
        "goals": {"first_page_ms": 200, "filter_change_ms": 300, "clip_page_ms": 200},
        "met": first < 200 and filter_ms < 300 and page < 200 and clip_page < 200,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.web")
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.items, args.repeat)))


if __name__ == "__main__":
    main()
