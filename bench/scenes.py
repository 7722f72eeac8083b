"""Scene-cut benchmark: what PySceneDetect's `find_cuts` costs against decoding the file.

``python -m bench.scenes [--seconds 60]`` writes a 1280x720 24 fps clip with a hard cut every
4 s, then times `find_cuts` (every frame, and with ``frame_skip=2``) and a bare PyAV decode of
every frame of the same file, and prints one JSON line with the times, ratios and the cuts found.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import av

from media.samples import make_av_clip
from media.scenes import find_cuts


def bare_decode(path: Path) -> int:
    """Decode every video frame of ``path`` (one thread, as PySceneDetect does); the count."""
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def timed(run: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def run_bench(seconds: float, width: int, height: int) -> dict[str, Any]:
    """The whole comparison; returns the JSON line's fields."""
    with tempfile.TemporaryDirectory(prefix="bench-scenes-") as tmp:
        path = make_av_clip(Path(tmp) / "cuts.mp4", seconds, width, height, 24, scene_every_s=4.0)
        decode_s, frames = timed(lambda: bare_decode(path))
        every_s, cuts = timed(lambda: find_cuts(path))
        skip_s, skipped = timed(lambda: find_cuts(path, frame_skip=2))
    return {
        "bench": "scenes",
        "clip": f"{seconds:g} s {width}x{height} 24 fps",
        "frames": frames,
        "seconds": round(every_s, 2),
        "baseline_decode_seconds": round(decode_s, 2),
        "ratio": round(every_s / decode_s, 2),
        "skip2_seconds": round(skip_s, 2),
        "skip2_ratio": round(skip_s / decode_s, 2),
        "realtime_factor": round(seconds / every_s, 1),
        "cuts_expected": len(range(4, int(seconds - 1e-9) + 1, 4)),
        "cuts_found": len(cuts),
        "cuts_found_skip2": len(skipped),
    }


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.scenes")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    print(json.dumps(run_bench(args.seconds, args.width, args.height)))


if __name__ == "__main__":
    main()
