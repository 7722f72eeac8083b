"""A 200 MB output is archived by a real worker whose processes stay under 200 MB of RSS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from config.settings import ProviderName, Settings
from devstack import Stack
from emulator.client import EmulatorAdmin
from jobs.ledger import Ledger
from jobs.states import JobState
from tests.pipeline.conftest import make_job, run_to_end, unique_batch

pytestmark = pytest.mark.slow

# The copy streams in parts (about 120 MB of worker); the output's QC then decodes it, which
# adds an H.264 decoder's frame pool for one 1280x720 stream (20-40 MB measured), however
# large the file: neither grows with the output's size.
LIMIT_MB = 200
OUTPUT_BYTES = 200 * 1024 * 1024


def peak_rss_mb(pid: int) -> float:
    """The high-water mark of a process's resident memory (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for pid {pid}")


def test_a_200_mb_output_is_archived_and_checked_within_200_mb_of_worker_memory(
    services: Stack,
    worker_env: dict[str, str],
    worker_settings: Settings,
    ledger: Ledger,
    celery_app: Any,
    source_url: str,
    emulator: httpx.Client,
) -> None:
    EmulatorAdmin(emulator).configure(output_padding_bytes=OUTPUT_BYTES)
    worker = services.start_worker(queues=("submit", "poll", "archive"), concurrency=1,
                                   name="rss", env=worker_env)  # fmt: skip
    job = make_job(worker_settings, unique_batch("big"), "big", ProviderName.VIBEDREAM, source_url)
    (stored,) = run_to_end(ledger, celery_app, [job], 180)
    assert stored.state is JobState.STORED, stored.events
    assert stored.output is not None and stored.output.size > OUTPUT_BYTES
    assert worker.process is not None
    main = psutil.Process(worker.process.pid)
    peaks = {proc.pid: peak_rss_mb(proc.pid) for proc in [main, *main.children(recursive=True)]}
    print(f"worker peak RSS by pid (MiB): {peaks}")
    assert max(peaks.values()) < LIMIT_MB, peaks
