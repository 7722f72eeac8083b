"""QC benchmark: checking a render (`media.qc_measure` + `media.qc.judge`) versus a bare PyAV
decode of the same frames.

``python -m bench.qc [--seconds 5] [--rounds 5]`` makes a source clip, cuts it as the media
worker does for gen4_aleph, renders it with the emulator's edit (1280x720 at 24 fps, as the
providers hand back), then times, alternately, the QC of the render against its input and a
plain decode of every frame of both files (nothing converted or kept). Prints one JSON line:
the best wall and CPU time of each per output second, and their ratios.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import av

from config.catalogue import GEN4_ALEPH
from emulator.render import render_edit
from media.qc import Expected, judge
from media.qc_measure import measure
from media.samples import make_clip

ROUNDS = 5


def cpu_seconds() -> float:
    """User + system CPU time of this process, all threads (the machine is shared)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bare_decode(*paths: Path) -> int:
    """Decode every video frame of ``paths``; how many there were."""
    frames = 0
    for path in paths:
        with av.open(str(path), mode="r") as container:
            frames += sum(1 for _ in container.decode(video=0))
    return frames


def check(render: Path, source: Path, seconds: float) -> bool:
    """The QC the archive step runs."""
    stats, sent = measure(render, source)
    return judge(stats, Expected(seconds, sent)).passed


def timed(run: Any) -> tuple[float, float]:
    started, cpu = time.perf_counter(), cpu_seconds()
    run()
    return time.perf_counter() - started, cpu_seconds() - cpu


def run_bench(seconds: float, rounds: int) -> dict[str, Any]:
    """The comparison; the JSON line's fields."""
    with tempfile.TemporaryDirectory(prefix="bench-qc-") as tmp:
        source = make_clip(Path(tmp) / "in.mp4", seconds, 1280, 720, 24, pattern="gradient")
        render = Path(tmp) / "out.mp4"
        render.write_bytes(render_edit(source.read_bytes(), "film noir", (16, 9), GEN4_ALEPH))
        if not check(render, source, seconds):
            raise SystemExit("a good render failed QC")
        qc, base = [], []
        for _ in range(rounds):
            qc.append(timed(lambda: check(render, source, seconds)))
            base.append(timed(lambda: bare_decode(render, source)))
        frames = bare_decode(render)
    best_qc, best_base = min(qc), min(base)
    cpu_qc, cpu_base = min(cpu for _, cpu in qc), min(cpu for _, cpu in base)
    return {
        "bench": "qc",
        "render": f"{seconds:g} s 1280x720 24 fps ({frames} frames), checked against its input",
        "qc_s_per_output_s": round(best_qc[0] / seconds, 4),
        "baseline_s_per_output_s": round(best_base[0] / seconds, 4),
        "ratio": round(best_qc[0] / best_base[0], 3),
        "qc_cpu_s_per_output_s": round(cpu_qc / seconds, 4),
        "baseline_cpu_s_per_output_s": round(cpu_base / seconds, 4),
        "cpu_ratio": round(cpu_qc / cpu_base, 3),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.qc")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="runs of each, best kept")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    print(json.dumps(run_bench(args.seconds, args.rounds)))


if __name__ == "__main__":
    main()
