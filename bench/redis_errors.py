"""How long ``restyle batches`` takes to say what is wrong with Redis, against its own start.

Cases: a closed port, a wrong password, no password (a redis-server with ``requirepass``),
and a working Redis. The baseline, measured in the same run, is ``restyle --help``: Python's
start and the CLI's imports, which every command pays. Each figure is a median of ``--runs``.
Prints one JSON line; ``ratio`` is the slowest error case over the baseline.
Goal: every error in one line of stderr, within 5 s (ratio near 1: no retry loop behind it).

    python -m bench.redis_errors [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from devstack import free_port
from devstack.secure_redis import start_secure_redis

GOAL_S = 5.0
USER, PASSWORD = "bench", "bench-Pa55word"


def timed(env: dict[str, str], *args: str) -> tuple[float, int, int]:
    """Seconds, exit code and stderr lines of ``restyle *args``."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env={**os.environ, **env, "COLUMNS": "80"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    return time.monotonic() - started, done.returncode, len(done.stderr.strip().splitlines())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    base = {k: v for k, v in os.environ.items() if not k.startswith("RESTYLE_REDIS")}
    server = start_secure_redis(Path(tempfile.mkdtemp(prefix="bench-redis-errors-")), USER,
                                PASSWORD, None)  # fmt: skip
    try:
        cases = {
            "closed port": {"RESTYLE_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"},
            "wrong password": {**server.env(), "RESTYLE_REDIS_PASSWORD": "not-it"},
            "no password": {"RESTYLE_REDIS_URL": server.url},
            "working": server.env(),
        }
        baseline = statistics.median(timed(base, "--help")[0] for _ in range(runs))
        figures: dict[str, dict[str, float | int]] = {}
        for name, env in cases.items():
            results = [timed({**base, **env}, "batches") for _ in range(runs)]
            figures[name] = {
                "seconds": round(statistics.median(r[0] for r in results), 2),
                "exit": results[0][1],
                "stderr_lines": max(r[2] for r in results),
            }
    finally:
        server.stop()
    slowest = max(figures[name]["seconds"] for name in cases if name != "working")
    print(json.dumps({
        "bench": "redis_errors",
        "baseline_help_s": round(baseline, 2),
        "cases": figures,
        "slowest_error_s": slowest,
        "ratio": round(slowest / baseline, 2),
        "goal_s": GOAL_S,
        "met": slowest <= GOAL_S and all(
            figures[name]["stderr_lines"] == 1 for name in cases if name != "working"
        ),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
