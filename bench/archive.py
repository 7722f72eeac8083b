"""Archive benchmark: copy_url_to_s3 of a large output versus boto3's upload_fileobj from disk.

``python -m bench.archive [--bytes N]`` starts moto's S3 server and a local HTTP server that
generates the output (never held in memory), archives it in a child process whose peak RSS is
measured, uploads the same bytes from a temporary file with ``upload_fileobj`` in the same run,
and prints one JSON line. ``python -m bench.archive child ...`` is the child (also used by the
memory test); it prints its own JSON line with seconds, size, sha256 and peak RSS.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from config.settings import Settings
from devstack import start_moto
from devstack.byteserver import ByteServer, generated
from devstack.s3 import MOTO_CREDENTIALS
from storage.archive import copy_url_to_s3
from storage.s3 import ensure_bucket, s3_client

GIB = 1024**3
MB = 1_000_000
BUCKET = "bench-archive"


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB.

    Linux's VmHWM, not ``ru_maxrss``: a child started with vfork inherits in ``ru_maxrss`` the
    peak of its parent's memory before exec, which here would be the benchmark's own.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / MB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MB


def moto_settings(endpoint: str) -> Settings:
    """Settings for moto's server at ``endpoint``, with its dummy credentials."""
    return Settings(
        s3_endpoint_url=endpoint,
        s3_access_key_id=MOTO_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        s3_secret_access_key=MOTO_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def run_child(args: argparse.Namespace) -> dict[str, Any]:
    """Archive ``args.url`` into S3 the way a worker does; report time, digest and memory."""
    s3 = s3_client(moto_settings(args.endpoint))
    with httpx.Client(timeout=httpx.Timeout(60.0)) as http:
        started = time.perf_counter()
        stored = copy_url_to_s3(
            http,
            args.url,
            s3=s3,
            bucket=args.bucket,
            key=args.key,
            metadata={"bench": "archive"},
            part_bytes=args.part_bytes,
            deadline=None,
            now=lambda: datetime.now(UTC),
        )
        seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "size": stored.size,
        "sha256": stored.sha256,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def archive_in_child(url: str, endpoint: str, key: str, part_bytes: int) -> dict[str, Any]:
    """Run `run_child` in a fresh interpreter and return its report."""
    argv = [sys.executable, "-m", "bench.archive", "child", "--url", url, "--endpoint", endpoint]
    argv += ["--bucket", BUCKET, "--key", key, "--part-bytes", str(part_bytes)]
    done = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=3600)
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def write_source(path: Path, size: int) -> str:
    """Write the generated output to ``path``; return its SHA-256."""
    digest = hashlib.sha256()
    with path.open("wb") as handle:
        for chunk in generated(size):
            digest.update(chunk)
            handle.write(chunk)
    return digest.hexdigest()


def baseline_seconds(s3: Any, path: Path, key: str) -> float:
    """Seconds boto3's managed ``upload_fileobj`` takes to upload ``path``."""
    started = time.perf_counter()
    with path.open("rb") as handle:
        s3.upload_fileobj(handle, BUCKET, key, ExtraArgs={"ContentType": "video/mp4"})
    return time.perf_counter() - started


def run_bench(size: int, part_bytes: int) -> dict[str, Any]:
    """The whole comparison; returns the JSON line's fields."""
    with tempfile.TemporaryDirectory(prefix="bench-archive-") as tmp:
        workdir = Path(tmp)
        moto = start_moto(workdir)
        try:
            s3 = s3_client(moto_settings(moto.url))
            ensure_bucket(s3, BUCKET)
            expected = write_source(workdir / "output.mp4", size)
            baseline = baseline_seconds(s3, workdir / "output.mp4", "baseline.mp4")
            s3.delete_object(Bucket=BUCKET, Key="baseline.mp4")
            with ByteServer() as server:
                url = f"{server.url}/bytes/{size}"
                child = archive_in_child(url, moto.url, "archived.mp4", part_bytes)
        finally:
            moto.stop()
    if (child["size"], child["sha256"]) != (size, expected):
        raise SystemExit(f"archived object does not match the source: {child}")
    return summary(size, child, baseline)


def summary(size: int, child: dict[str, Any], baseline_s: float) -> dict[str, Any]:
    """The benchmark's JSON fields."""
    mb_per_s = size / MB / child["seconds"]
    baseline = size / MB / baseline_s
    return {
        "bench": "archive",
        "bytes": size,
        "mb_per_s": round(mb_per_s, 1),
        "baseline_mb_per_s": round(baseline, 1),
        "ratio": round(mb_per_s / baseline, 2),
        "peak_rss_mb": child["peak_rss_mb"],
    }


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.archive")
    parser.add_argument("mode", nargs="?", choices=["bench", "child"], default="bench")
    parser.add_argument("--bytes", type=int, default=GIB)
    parser.add_argument("--part-bytes", type=int, default=Settings().archive_part_bytes)
    parser.add_argument("--url")
    parser.add_argument("--endpoint")
    parser.add_argument("--bucket", default=BUCKET)
    parser.add_argument("--key", default="archived.mp4")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.mode == "child":
        print(json.dumps(run_child(args)))
    else:
        print(json.dumps(run_bench(args.bytes, args.part_bytes)))


if __name__ == "__main__":
    main()
