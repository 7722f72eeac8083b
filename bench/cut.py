"""Cut benchmark: `cut_segments` of a long 1080p source versus a bare PyAV transcode of it.

``python -m bench.cut [--seconds 600]`` writes a 1920x1080 24 fps source with stereo sound, then
runs, each in a fresh interpreter (so peak RSS is the cut's own), alternately and twice: the cut
into gen4_aleph's 5 s segments, and a plain decode + encode of the same source into one MP4 with
the same encoder settings. Prints one JSON line with the best time of each, their ratio and the
cut's peak RSS, and the same for CPU time (steadier than wall time on a shared machine).
``python -m bench.cut child ...`` is one such run.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import av
from av.video.frame import PictureType

from bench.archive import peak_rss_mb
from config.catalogue import GEN4_ALEPH
from media.cutting import cut_segments, encoder_options
from media.normalise import EncodeTarget, encode_target, plan_rate
from media.plan import plan_segments
from media.probe import probe
from media.samples import make_av_clip

ROUNDS = 2


def target_for(source: Path) -> EncodeTarget:
    """The encoding every run uses: what the cutter picks for gen4_aleph."""
    return encode_target(probe(source), GEN4_ALEPH)


def run_cut(source: Path, folder: Path) -> int:
    """Cut ``source`` as a media worker does; the number of frames written."""
    info = probe(source)
    plan = plan_segments(info.duration_s, float(plan_rate(info)), GEN4_ALEPH)
    cuts = cut_segments(source, plan, target_for(source), folder)
    return sum(cut.frames for cut in cuts)


def run_transcode(source: Path, folder: Path) -> int:
    """Decode ``source`` and encode every frame into one MP4 with the cutter's settings."""
    target = target_for(source)
    frames = 0
    with av.open(str(source)) as reader, av.open(str(folder / "all.mp4"), "w") as writer:
        stream: Any = writer.add_stream("libx264", rate=target.fps)
        stream.width, stream.height, stream.pix_fmt = target.width, target.height, "yuv420p"
        stream.options = encoder_options(target)
        reader.streams.video[0].thread_type = "AUTO"
        for frame in reader.decode(video=0):
            picture = frame.reformat(format="yuv420p")
            picture.pict_type = PictureType.NONE  # as the cutter: x264 picks the frame types
            picture.pts, picture.time_base = frames, 1 / target.fps
            writer.mux(stream.encode(picture))
            frames += 1
        writer.mux(stream.encode(None))
    return frames


def run_child(mode: str, source: Path) -> dict[str, Any]:
    """One timed run in this process."""
    with tempfile.TemporaryDirectory(prefix="bench-cut-") as tmp:
        started, cpu = time.perf_counter(), cpu_seconds()
        frames = (run_cut if mode == "cut" else run_transcode)(source, Path(tmp))
        seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    return {
        "seconds": seconds,
        "cpu_s": cpu,
        "frames": frames,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def cpu_seconds() -> float:
    """User + system CPU time of this process, all threads (the machine is shared)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def in_child(mode: str, source: Path) -> dict[str, Any]:
    """`run_child` in a fresh interpreter."""
    argv = [sys.executable, "-m", "bench.cut", "child", "--mode", mode, "--source", str(source)]
    done = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=7200)
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def run_bench(seconds: float, width: int, height: int, rounds: int = ROUNDS) -> dict[str, Any]:
    """The whole comparison; returns the JSON line's fields."""
    with tempfile.TemporaryDirectory(prefix="bench-cut-src-") as tmp:
        source = make_av_clip(Path(tmp) / "source.mp4", seconds, width, height, 24)
        runs: dict[str, list[dict[str, Any]]] = {"cut": [], "transcode": []}
        for _ in range(rounds):
            for mode in runs:
                runs[mode].append(in_child(mode, source))
    cut = min(runs["cut"], key=lambda run: run["seconds"])
    base = min(runs["transcode"], key=lambda run: run["seconds"])
    if cut["frames"] != base["frames"]:
        raise SystemExit(f"the cut wrote {cut['frames']} frames, the source has {base['frames']}")
    return {
        "bench": "cut",
        "source": f"{seconds:g} s {width}x{height} 24 fps",
        "segments": len(plan_segments(seconds, 24.0, GEN4_ALEPH).segments),
        "seconds": round(cut["seconds"], 2),
        "baseline_seconds": round(base["seconds"], 2),
        "ratio": round(cut["seconds"] / base["seconds"], 3),
        "cpu_s": round(min(run["cpu_s"] for run in runs["cut"]), 2),
        "baseline_cpu_s": round(min(run["cpu_s"] for run in runs["transcode"]), 2),
        "cpu_ratio": round(
            min(run["cpu_s"] for run in runs["cut"])
            / min(run["cpu_s"] for run in runs["transcode"]),
            3,
        ),
        "peak_rss_mb": max(run["peak_rss_mb"] for run in runs["cut"]),
        "baseline_peak_rss_mb": max(run["peak_rss_mb"] for run in runs["transcode"]),
    }


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.cut")
    parser.add_argument("mode", nargs="?", choices=["bench", "child"], default="bench")
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="runs of each, best kept")
    parser.add_argument("--mode", dest="run", choices=["cut", "transcode"], default="cut")
    parser.add_argument("--source", type=Path)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.mode == "child":
        print(json.dumps(run_child(args.run, args.source)))
    else:
        print(json.dumps(run_bench(args.seconds, args.width, args.height, args.rounds)))


if __name__ == "__main__":
    main()
