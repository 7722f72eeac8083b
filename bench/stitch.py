"""Stitch benchmark: `stitch_segments` of a 60 s 1280x720 clip with sound versus bare PyAV.

``python -m bench.stitch [--seconds 60]`` writes a 1280x720 24 fps source with stereo sound and
cuts it into gen4_aleph's 5 s segments (standing in for the providers' outputs). It then times,
alternately and twice, the stitch (retime, trim, scale, encode, copy the source's audio), the
same stitch with every segment colour-matched to the one before (``colour_*``), and a bare
decode + encode of the same segment frames into one MP4 with the same encoder settings, and
prints one JSON line with the best wall and CPU time of each and their ratios to the bare one.
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
from av.video.frame import PictureType

from bench.archive import peak_rss_mb
from config.catalogue import GEN4_ALEPH
from config.settings import SeamSettings
from media.cutting import PRESET, cut_segments
from media.normalise import encode_target, plan_rate
from media.plan import SegmentPlan, plan_segments
from media.probe import probe
from media.samples import make_av_clip
from media.stitching import STITCH_CRF, stitch_segments

ROUNDS = 2


def bare_encode(outputs: list[Path], plan: SegmentPlan, dest: Path) -> int:
    """Decode every output in order and encode its frames into ``dest``, nothing else."""
    fps = plan_rate(probe(outputs[0]))
    first = probe(outputs[0])
    frames = 0
    with av.open(str(dest), "w") as writer:
        stream: Any = writer.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = first.width, first.height, "yuv420p"
        stream.options = {"preset": PRESET, "crf": STITCH_CRF}
        for path in outputs:
            with av.open(str(path)) as reader:
                reader.streams.video[0].thread_type = "AUTO"
                for frame in reader.decode(video=0):
                    frame.pts, frame.time_base = frames, 1 / fps
                    frame.pict_type = PictureType.NONE  # as the stitcher: x264 picks the types
                    writer.mux(stream.encode(frame))
                    frames += 1
        writer.mux(stream.encode(None))
    return frames


def timed(run: Any) -> tuple[float, float]:
    """Wall and CPU (user + system, all threads) seconds of ``run()``."""
    started, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - started, time.process_time() - cpu


def run_bench(seconds: float, width: int, height: int) -> dict[str, Any]:
    """The whole comparison; returns the JSON line's fields."""
    with tempfile.TemporaryDirectory(prefix="bench-stitch-") as tmp:
        folder = Path(tmp)
        source = make_av_clip(folder / "source.mp4", seconds, width, height, 24)
        info = probe(source)
        plan = plan_segments(info.duration_s, float(plan_rate(info)), GEN4_ALEPH)
        cuts = cut_segments(source, plan, encode_target(info, GEN4_ALEPH), folder / "segments")
        outputs = [cut.path for cut in cuts]
        ours, matched, bare = [], [], []
        plain, colour = SeamSettings(colour_match=False), SeamSettings(colour_match=True)

        def stitch(handling: SeamSettings, name: str) -> None:
            stitch_segments(outputs, plan, source, folder / name, handling=handling)

        for _ in range(ROUNDS):
            ours.append(timed(lambda: stitch(plain, "out.mp4")))
            matched.append(timed(lambda: stitch(colour, "colour.mp4")))
            bare.append(timed(lambda: bare_encode(outputs, plan, folder / "bare.mp4")))
        result = probe(folder / "out.mp4")
    return {
        "bench": "stitch",
        "clip": f"{seconds:g} s {width}x{height} 24 fps, stereo AAC",
        "segments": len(plan.segments),
        "seconds": round(min(ours)[0], 2),
        "baseline_seconds": round(min(bare)[0], 2),
        "ratio": round(min(ours)[0] / min(bare)[0], 3),
        "cpu_s": round(min(c for _, c in ours), 2),
        "baseline_cpu_s": round(min(c for _, c in bare), 2),
        "cpu_ratio": round(min(c for _, c in ours) / min(c for _, c in bare), 3),
        "colour_seconds": round(min(matched)[0], 2),
        "colour_ratio": round(min(matched)[0] / min(bare)[0], 3),
        "colour_cpu_ratio": round(min(c for _, c in matched) / min(c for _, c in bare), 3),
        "colour_goal": "colour-matched stitch <= 1.25x the bare decode + encode",
        "output_seconds": round(result.duration_s, 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.stitch")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    print(json.dumps(run_bench(args.seconds, args.width, args.height)))


if __name__ == "__main__":
    main()
