"""A worker-like process archives a 200 MB output with bounded memory."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from devstack import Service
from devstack.byteserver import ByteServer, generated_sha256
from storage.s3 import head_object

SIZE = 200_000_000
PEAK_RSS_LIMIT_MB = 150


@pytest.mark.slow
def test_200_mb_output_is_archived_with_peak_rss_under_150_mb(
    byte_server: ByteServer, s3_server: Service, s3_bucket: str, s3: Any
) -> None:
    argv = [
        sys.executable, "-m", "bench.archive", "child",
        "--url", f"{byte_server.url}/bytes/{SIZE}",
        "--endpoint", s3_server.url,
        "--bucket", s3_bucket,
        "--key", "outputs/big/item.mp4",
        "--part-bytes", str(8 * 1024 * 1024),
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["peak_rss_mb"] < PEAK_RSS_LIMIT_MB
    assert report["size"] == SIZE == head_object(s3, s3_bucket, "outputs/big/item.mp4").size
    assert report["sha256"] == generated_sha256(SIZE)
    s3.delete_object(Bucket=s3_bucket, Key="outputs/big/item.mp4")
