"""Seam benchmark: one drifting clip stitched with the seam handling off and on, in one run.

``python -m bench.seams [--seconds 60] [--provider segmind] [--overlap-frames 6]`` starts a
private stack (Redis, moto S3, the emulator with its per-job drift on, real workers), writes a
panning clip with sound and submits it twice: once with the seam handling off (hard joins, no
colour match) and once with it on (``--overlap-frames`` crossfaded, colour-matched), both with
the default continuity (segment 1's frame anchors the others; on Runway, ``--keyframes``).
It prints one JSON line with every seam's score (jump over the clip's ordinary frame-to-frame
change, and the colour-histogram distance) for both, the worst of each, and whether every seam
with the handling on is within ``--goal`` times the ordinary change.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.clip_e2e import event_at
from bench.rig import bench_stack
from config.redis import redis_client
from config.settings import DEFAULT_SEAMS, ProviderName, load_settings
from jobs.batches import BatchStore
from jobs.clips.record import Clip, ClipState
from jobs.clips.store import ClipStore
from jobs.ledger import Ledger
from media.samples import make_av_clip
from producer.batch import SubmitOptions, enqueue_batch, plan_batch
from storage.s3 import ensure_bucket, s3_client

GOAL = 1.5


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Both clips through one fresh stack; the JSON line's fields."""
    with bench_stack("seams") as stack:
        stack.start_redis()
        stack.start_s3()
        stack.start_emulator("--preset", "calm", "--processing-time", str(args.job_seconds))
        provider = ProviderName(args.provider)
        env = stack.env(
            RESTYLE_POLL_MAX_INTERVAL_S="1",
            RESTYLE_SEAMS__KEYFRAMES=str(args.keyframes),
            **{f"RESTYLE_{provider.value.upper()}__TYPICAL_DURATION_S": str(args.job_seconds)},
        )
        os.environ.update(env)
        stack.start_worker(("submit", "submit.interactive", "poll", "archive", "batch"),
                           concurrency=6, name="steps")  # fmt: skip
        stack.start_worker(("media",), concurrency=2, name="media")
        source = make_av_clip(
            stack.workdir / "pan.mp4", args.seconds, args.width, args.height, 24, pattern="pan"
        )
        off = _clip(source, provider, "seams-off", overlap=0, colour=False)
        on = _clip(source, provider, "seams-on", overlap=args.overlap_frames, colour=True)
        return _figures(off, on, args)


def _clip(source: Path, provider: ProviderName, batch: str, *, overlap: int, colour: bool) -> Clip:
    from tasks.messages import dispatch_clips, dispatch_jobs
    from workers.factory import create_app

    settings = load_settings()
    app = create_app(settings)
    s3 = s3_client(settings)
    ensure_bucket(s3, settings.s3_bucket)
    client = redis_client(settings)
    options = SubmitOptions(
        prompt="make it winter", provider=provider, batch=batch, seed=7,
        overlap_frames=overlap, colour_match=colour,
    )  # fmt: skip
    plan = plan_batch(str(source), options, settings, datetime.now(UTC), s3=s3)
    enqueue_batch(plan, Ledger(client), BatchStore(client),
                           lambda jobs: dispatch_jobs(app, jobs), datetime.now(UTC),
                           dispatch_clips=lambda clips: dispatch_clips(app, clips))  # fmt: skip
    store = ClipStore(client)
    (clip,) = store.batch_clips(plan.batch)
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        done = store.get(clip.id)
        if done is not None and done.state.terminal:
            if done.state is not ClipState.STORED:
                raise RuntimeError(f"{batch} ended {done.state}: {done.failure_message}")
            return done
        time.sleep(0.5)
    raise TimeoutError(f"{batch} did not finish")


def _side(clip: Clip) -> dict[str, Any]:
    stitching = event_at(clip, ClipState.STITCHING) or clip.updated_at.timestamp()
    ratios = [seam.ratio for seam in clip.seams]
    return {
        "segments": len(clip.segments),
        "billed_seconds": round(clip.plan.billed_seconds, 3) if clip.plan else None,
        "cost_usd": clip.estimated_cost_usd,
        "stitch_s": round(clip.updated_at.timestamp() - stitching, 2),
        "ordinary_change": round(statistics.median(s.ordinary for s in clip.seams), 3),
        "worst_ratio": max(ratios),
        "median_ratio": round(statistics.median(ratios), 3),
        "worst_histogram": max(seam.histogram for seam in clip.seams),
        "flagged": len(clip.flagged_seams),
        "seams": [[seam.index, seam.ratio, seam.histogram] for seam in clip.seams],
    }


def _figures(off: Clip, on: Clip, args: argparse.Namespace) -> dict[str, Any]:
    handled = _side(on)
    return {
        "bench": "seams",
        "clip": f"{args.seconds:g} s {args.width}x{args.height} 24 fps panning, drift on",
        "provider": args.provider,
        "overlap_frames": args.overlap_frames,
        "keyframes": args.keyframes,
        "off": _side(off),
        "on": handled,
        "goal": f"every seam <= {args.goal}x the ordinary change with handling on",
        "goal_met": handled["worst_ratio"] <= args.goal,
    }


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.seams", description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--provider", default="segmind")
    parser.add_argument("--overlap-frames", type=int, default=DEFAULT_SEAMS.overlap_frames)
    parser.add_argument("--keyframes", type=int, default=DEFAULT_SEAMS.keyframes)
    parser.add_argument("--job-seconds", type=float, default=0.5)
    parser.add_argument("--goal", type=float, default=GOAL)
    return parser.parse_args(argv)


def main() -> None:
    print(json.dumps(run(parse())))


if __name__ == "__main__":
    main()
