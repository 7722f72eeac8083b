"""End-to-end benchmark of one long clip: cut, 12 segments on one key of concurrency 4, stitch.

``python -m bench.clip_e2e [--seconds 60] [--job-seconds 30] [--continuity none]`` submits a
clip with sound (320x180, 24 fps) to segmind on the emulator, every remote job taking exactly
``--job-seconds``, one API key limited to 4 at once. The ideal is the edits alone, in waves of
4, plus the stitch as measured in the same run: ``ceil(segments / 4) * job_seconds + stitch``.
It prints one JSON line with the wall time (submit to STORED), the ideal, their ratio, and
where the rest went (cut, the gap between the last segment and the stitch).

With ``--continuity anchor`` segment 1 runs alone first, so the edits take one wave more by
design: the ideal then is ``(1 + ceil((segments - 1) / 4)) * job_seconds + stitch``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from datetime import UTC, datetime
from typing import Any

from bench.rig import bench_stack
from config.redis import redis_client
from config.settings import ProviderName, load_settings
from jobs.batches import BatchStore
from jobs.clips.record import Clip, ClipState, Continuity
from jobs.clips.store import ClipStore
from jobs.ledger import Ledger
from media.samples import make_av_clip
from producer.batch import SubmitOptions, enqueue_batch, plan_batch
from storage.s3 import ensure_bucket, s3_client

CONCURRENCY = 4


def event_at(clip: Clip, state: ClipState) -> float | None:
    """When ``clip`` first entered ``state`` (epoch seconds), from its history."""
    for event in clip.events:
        if event.state is state:
            return event.at.timestamp()
    return None


def run(seconds: float, job_seconds: float, continuity: Continuity) -> dict[str, Any]:
    """One clip through a fresh stack; the JSON line's fields."""
    with bench_stack("clip-e2e") as stack:
        stack.start_redis()
        stack.start_s3()
        stack.start_emulator("--preset", "calm", "--processing-time", str(job_seconds))
        env = stack.env(
            RESTYLE_POLL_MAX_INTERVAL_S="1",
            RESTYLE_SEGMIND__CONCURRENCY=str(CONCURRENCY),
            RESTYLE_SEGMIND__TYPICAL_DURATION_S=str(job_seconds),
        )
        os.environ.update(env)
        stack.start_worker(("submit", "submit.interactive", "poll", "archive", "batch"),
                           concurrency=6, name="steps")  # fmt: skip
        stack.start_worker(("media",), concurrency=2, name="media")
        source = make_av_clip(stack.workdir / "long.mp4", seconds)
        return _submit_and_wait(source, continuity, job_seconds)


def _submit_and_wait(source: Any, continuity: Continuity, job_seconds: float) -> dict[str, Any]:
    from tasks.messages import dispatch_clips, dispatch_jobs
    from workers.factory import create_app

    settings = load_settings()
    app = create_app(settings)
    s3 = s3_client(settings)
    ensure_bucket(s3, settings.s3_bucket)
    client = redis_client(settings)
    options = SubmitOptions(prompt="make it winter", provider=ProviderName.SEGMIND,
                            batch="clip-e2e", continuity=continuity)  # fmt: skip
    started = time.time()
    plan = plan_batch(str(source), options, settings, datetime.now(UTC), s3=s3)
    enqueue_batch(plan, Ledger.from_settings(settings, client), BatchStore(client),
                           lambda jobs: dispatch_jobs(app, jobs), datetime.now(UTC),
                           dispatch_clips=lambda clips: dispatch_clips(app, clips))  # fmt: skip
    store = ClipStore(client)
    (clip,) = store.batch_clips(plan.batch)
    done = _wait(store, clip.id, 60 * job_seconds)
    return _figures(done, started, time.time(), job_seconds, continuity)


def _wait(store: ClipStore, clip_id: str, timeout_s: float) -> Clip:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        clip = store.get(clip_id)
        if clip is not None and clip.state.terminal:
            return clip
        time.sleep(0.2)
    raise TimeoutError(f"clip {clip_id} did not finish in {timeout_s:.0f} s")


def _figures(
    clip: Clip, started: float, ended: float, job_seconds: float, continuity: Continuity
) -> dict[str, Any]:
    if clip.state is not ClipState.STORED:
        raise RuntimeError(f"clip ended {clip.state}: {clip.failure_message}")
    segments = len(clip.segments)
    edited = event_at(clip, ClipState.EDITING) or started
    stitching = event_at(clip, ClipState.STITCHING) or ended
    stitch_s = clip.updated_at.timestamp() - stitching
    waves = math.ceil(segments / CONCURRENCY)
    if continuity is Continuity.ANCHOR:
        waves = 1 + math.ceil((segments - 1) / CONCURRENCY)
    ideal = waves * job_seconds + stitch_s
    wall = ended - started
    return {
        "bench": "clip_e2e",
        "clip_seconds": clip.source_seconds,
        "segments": segments,
        "continuity": continuity.value,
        "concurrency": CONCURRENCY,
        "job_seconds": job_seconds,
        "wall_s": round(wall, 2),
        "ideal_s": round(ideal, 2),
        "ratio": round(wall / ideal, 3),
        "plan_and_cut_s": round(edited - started, 2),
        "stitch_s": round(stitch_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--job-seconds", type=float, default=30.0)
    parser.add_argument("--continuity", type=Continuity, default=Continuity.NONE)
    args = parser.parse_args()
    print(json.dumps(run(args.seconds, args.job_seconds, args.continuity)))


if __name__ == "__main__":
    main()
