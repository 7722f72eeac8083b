"""`restyle demo` on embedded defaults, as `make demo` runs it (with fewer clips)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import av
import pytest

pytestmark = pytest.mark.slow


def test_the_demo_stores_every_clip_and_writes_a_report_then_stops_its_services(
    tmp_path: Path,
) -> None:
    workdir = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "cli", "demo", "--clips", "3", "--workdir", str(workdir)],
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    outputs = sorted((workdir / "outputs").glob("*.mp4"))
    names = ["clip-00.mp4", "clip-01.mp4", "clip-02.mp4", "long-clip.mp4"]
    assert [path.name for path in outputs] == names
    for path in outputs:
        with av.open(str(path)) as container:
            assert next(container.decode(video=0)) is not None
    assert (workdir / "report.html").read_text().count("<img") >= 6
    assert result.stdout.count("s3://restyle/outputs/") == 4
    with av.open(str(workdir / "outputs" / "long-clip.mp4")) as container:
        assert container.streams.audio and float(container.duration or 0) / 1e6 >= 11.9
    leftovers = subprocess.run(["pgrep", "-f", str(workdir)], capture_output=True, text=True)
    assert leftovers.stdout.strip() == "", "services still running after the demo"
