"""``python -m bench.manifest``: planning a large manifest, rows/s and peak memory.

Writes a CSV of ``--rows`` rows naming ``--sources`` local clips (each source repeated, as a
library of many prompts or keys per clip does), then in a fresh process plans it as
``restyle submit library.csv --dry-run`` does (parse, locate, probe each distinct source once,
price, plan). The same-run baseline parses the same file with ``csv.reader`` alone in another
fresh process. Prints one JSON line with both rates and peak RSS values, and their ratios.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from media.samples import make_clip


def write_manifest(folder: Path, rows: int, sources: int) -> Path:
    for index in range(sources):
        make_clip(folder / f"c{index}.mp4", seconds=2.0, width=160, height=90)
    path = folder / "library.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "key", "prompt"])
        for row in range(rows):
            writer.writerow([f"c{row % sources}.mp4", f"item{row}", f"make it winter {row % 7}"])
    return path


def plan_only(path: str) -> dict[str, float]:
    """Runs in the child: the dry-run plan of ``path``; its time, rows and peak RSS."""
    from config.settings import Settings
    from devstack.stack import dev_key
    from producer.batch import SubmitOptions, plan_batch
    from storage.s3 import s3_client

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    keys = {"segmind": {"api_keys": [dev_key("segmind")]}}
    settings = Settings.model_validate({"s3_endpoint_url": "http://127.0.0.1:9", **keys})
    options = SubmitOptions(provider="segmind", dry_run=True)
    started = time.perf_counter()
    plan = plan_batch(path, options, settings, datetime.now(UTC), s3=s3_client(settings))
    assert not plan.problems, plan.problems[:3]
    return _measured(started, len(plan.jobs))


def parse_only(path: str) -> dict[str, float]:
    """Runs in the child: ``csv.reader`` over ``path``, every row kept as a list."""
    started = time.perf_counter()
    with Path(path).open(newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    return _measured(started, len(rows))


def _measured(started: float, rows: int) -> dict[str, float]:
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "peak_rss_mb": round(peak_mb, 1),
    }


def child(mode: str, path: Path) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.manifest", "--child", mode, "--path", str(path)]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=3600)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--sources", type=int, default=5)
    parser.add_argument("--child", choices=("plan", "parse"), help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run = plan_only if args.child == "plan" else parse_only
        print(json.dumps(run(args.path)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-manifest-") as name:
        path = write_manifest(Path(name), args.rows, args.sources)
        planned, parsed = child("plan", path), child("parse", path)
    print(
        json.dumps(
            {
                "bench": "manifest",
                "rows": args.rows,
                "sources": args.sources,
                "plan": planned,
                "baseline_parse": parsed,
                "ratio_rows_per_s": round(planned["rows_per_s"] / parsed["rows_per_s"], 4),
                "ratio_peak_rss": round(planned["peak_rss_mb"] / parsed["peak_rss_mb"], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
