"""Cutting a timeline's shot deep into its source: the seek against decoding up to the shot.

``python -m bench.range_cut [--seconds 120] [--at 100] [--length 3]`` writes a 1280x720 24 fps
H.264 source (x264's default keyframe interval, about 10 s), then cuts the range
``[at, at + length)`` for gen4_aleph twice: as the cutter does (a seek to the keyframe before the
range), and, as the same-run baseline, decoding every frame from the start. Both outputs are
compared frame by frame. Prints one JSON line: CPU seconds of each, frames decoded, the ratio.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
from pathlib import Path
from typing import Any

import av
import numpy as np

import media.cutting as cutting
from config.catalogue import GEN4_ALEPH
from media.cutting import cut_segments
from media.normalise import encode_target, plan_rate
from media.plan import plan_segments
from media.probe import probe
from media.samples import make_av_clip


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cut_once(source: Path, folder: Path, at_s: float, length_s: float) -> dict[str, Any]:
    """One cut of the range; its CPU time, decoded frames and the written frames' pixels."""
    info = probe(source)
    window = GEN4_ALEPH.model_copy(update={"max_seconds": max(length_s, GEN4_ALEPH.min_seconds)})
    fps = float(plan_rate(info))
    plan = plan_segments(info.duration_s, fps, window, (), length_s, start_s=at_s)
    decoded = 0
    real = cutting._decoded

    def counting(container: Any, stream: Any, where: str) -> Any:
        nonlocal decoded
        for frame in real(container, stream, where):
            decoded += 1
            yield frame

    cutting._decoded = counting
    try:
        started = _cpu_s()
        cuts = cut_segments(source, plan, encode_target(info, window), folder)
        seconds = _cpu_s() - started
    finally:
        cutting._decoded = real
    pixels: list[np.ndarray] = []
    for cut in cuts:
        with av.open(str(cut.path)) as container:
            pixels.extend(f.to_ndarray(format="yuv420p") for f in container.decode(video=0))
    return {"cpu_s": round(seconds, 2), "decoded_frames": decoded, "pixels": pixels}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--at", type=float, default=100.0)
    parser.add_argument("--length", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-range-cut-") as name:
        folder = Path(name)
        source = make_av_clip(folder / "master.mp4", args.seconds, 1280, 720, 24)
        sought = cut_once(source, folder / "sought", args.at, args.length)
        saved = cutting.SEEK_AFTER_S
        cutting.SEEK_AFTER_S = float("inf")
        try:
            whole = cut_once(source, folder / "whole", args.at, args.length)
        finally:
            cutting.SEEK_AFTER_S = saved
    same = len(sought["pixels"]) == len(whole["pixels"]) and all(
        np.array_equal(a, b) for a, b in zip(sought["pixels"], whole["pixels"], strict=True)
    )
    print(
        json.dumps(
            {
                "bench": "range_cut",
                "source_s": args.seconds,
                "range": [args.at, args.at + args.length],
                "seek": {k: v for k, v in sought.items() if k != "pixels"},
                "baseline_decode_from_start": {k: v for k, v in whole.items() if k != "pixels"},
                "ratio_cpu": round(whole["cpu_s"] / max(sought["cpu_s"], 1e-6), 1),
                "same_frames": same,
                "frames": len(sought["pixels"]),
            }
        )
    )


if __name__ == "__main__":
    main()
