"""What checking an output costs the archive: the same MP4 archived with and without the check.

``python -m bench.output_check [--bytes N]`` writes a real MP4 padded to ``N`` bytes with a
``free`` box (as the emulator pads its outputs), serves it from a local HTTP server, starts
moto's S3 server, and archives it with `copy_url_to_s3` twice in the same run: once as a raw
copy (the baseline) and once as the pipeline does, with the first-bytes signature check, the
temporary copy and the structural check (`storage.containers.video_problem`) before the upload
completes; alternated ``--repeats`` times, the best of each kept. One JSON line: MB/s of each,
their ratio (checked over raw time; 1.0 is free), and the structural check's own time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.archive import BUCKET, MB, moto_settings
from devstack import start_moto
from devstack.byteserver import ByteServer
from emulator.outputs import free_box_header
from media.samples import make_clip_bytes
from storage.archive import copy_url_to_s3
from storage.containers import video_problem
from storage.s3 import ensure_bucket, s3_client

DEFAULT_BYTES = 256 * 1024 * 1024


def padded_mp4(path: Path, size: int) -> Path:
    """A 5 s 720p MP4 followed by a ``free`` box up to ``size`` bytes."""
    video = make_clip_bytes(seconds=5.0, width=1280, height=720)
    padding = max(size - len(video), 16)
    with path.open("wb") as handle:
        handle.write(video)
        handle.write(free_box_header(padding))
        left, block = padding - len(free_box_header(padding)), b"\0" * (1 << 20)
        while left > 0:
            handle.write(block[: min(left, len(block))])
            left -= len(block)
    return path


def archive_seconds(url: str, s3: Any, key: str, checked: bool) -> float:
    """Seconds one archive of ``url`` takes, raw or checked."""
    with httpx.Client(timeout=httpx.Timeout(60.0)) as http:
        started = time.perf_counter()
        copy_url_to_s3(http, url, s3=s3, bucket=BUCKET, key=key, metadata={"bench": "check"},
                       part_bytes=8 * 1024 * 1024, deadline=None, now=lambda: datetime.now(UTC),
                       inspect=video_problem if checked else None)  # fmt: skip
        return time.perf_counter() - started


def run_bench(size: int, repeats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-check-") as tmp:
        folder = Path(tmp)
        source = padded_mp4(folder / "output.mp4", size)
        started = time.perf_counter()
        assert video_problem(source) is None
        check_s = time.perf_counter() - started
        moto = start_moto(folder)
        try:
            s3 = s3_client(moto_settings(moto.url))
            ensure_bucket(s3, BUCKET)
            with ByteServer(folder) as server:
                url = f"{server.url}/files/output.mp4"
                # Alternated and the best of each kept: the machine's load moves during a run.
                runs = [(archive_seconds(url, s3, "raw.mp4", checked=False),
                         archive_seconds(url, s3, "checked.mp4", checked=True))
                        for _ in range(repeats)]  # fmt: skip
                raw, checked = min(r for r, _ in runs), min(c for _, c in runs)
        finally:
            moto.stop()
    return {
        "bench": "output_check",
        "bytes": size,
        "raw_mb_per_s": round(size / MB / raw, 1),
        "checked_mb_per_s": round(size / MB / checked, 1),
        "ratio": round(checked / raw, 2),
        "structural_check_ms": round(check_s * 1000, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.output_check")
    parser.add_argument("--bytes", type=int, default=DEFAULT_BYTES)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    print(json.dumps(run_bench(args.bytes, args.repeats)))


if __name__ == "__main__":
    main()
