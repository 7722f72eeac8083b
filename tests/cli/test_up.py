"""`restyle up` as a team runs it: the stack stays up, a second process that sources its env file
submits a real clip that ends STORED, and Ctrl-C (SIGINT) leaves no process behind."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
import redis

from cli.up import env_file_text, write_env_file
from jobs.ledger import Ledger
from jobs.states import JobState
from media.samples import make_clip


def read_env_file(path: Path) -> dict[str, str]:
    """What ``source restyle.env`` puts in a shell's environment."""
    env = {}
    for line in path.read_text().splitlines():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            (env[name],) = shlex.split(value)
    return env


def wait_for(check: object, timeout_s: float, what: str, up: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert up.poll() is None, f"restyle up exited while waiting for {what}"
        if callable(check) and check():
            return
        time.sleep(0.2)
    raise AssertionError(f"no {what} within {timeout_s:.0f} s")


def test_the_env_file_round_trips_and_never_holds_real_keys(tmp_path: Path) -> None:
    env = {"RESTYLE_S3_PREFIX": "it's a prefix", "RESTYLE_RUNWAY__API_KEYS": "key_real"}
    path = tmp_path / "restyle.env"
    write_env_file(path, env_file_text(env, real_keys=False))
    assert read_env_file(path) == env
    assert path.stat().st_mode & 0o777 == 0o600
    write_env_file(path, env_file_text(env, real_keys=True))
    assert read_env_file(path) == {"RESTYLE_S3_PREFIX": "it's a prefix"}
    assert "key_real" not in path.read_text()


@pytest.mark.slow
def test_up_serves_a_second_shell_and_stops_every_process_on_ctrl_c(tmp_path: Path) -> None:
    workdir = tmp_path / "up"
    env_file = workdir / "restyle.env"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RESTYLE_")}
    up = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli",
            "up",
            "--workdir",
            str(workdir),
            "--concurrency",
            "1",
            "--processing-time",
            "1",
        ],
        env={**clean, "COLUMNS": "200"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own group, as a terminal's Ctrl-C reaches a foreground job
        # Started with SIGINT ignored, as a script's background job is: Ctrl-C must still stop it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        wait_for(env_file.exists, 240, "env file", up)
        family = psutil.Process(up.pid).children(recursive=True)
        assert len(family) >= 8  # Redis, moto, emulator, three workers, beat, web, Flower...

        shell = {**clean, **read_env_file(env_file)}
        clip = make_clip(tmp_path / "clip.mp4", seconds=3.0)
        submit = subprocess.run(
            [sys.executable, "-m", "cli", "submit", str(clip), "--prompt", "make it winter",
             "--provider", "runway", "--batch", "up-test"],
            env=shell, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert submit.returncode == 0, submit.stdout + submit.stderr
        ledger = Ledger(redis.Redis.from_url(shell["RESTYLE_REDIS_URL"]))

        def stored() -> bool:
            counts = ledger.batch_counts("up-test")
            return counts.get(JobState.STORED, 0) == 1

        wait_for(stored, 90, "STORED job", up)
        assert (workdir / "services").is_dir()

        # The workers' task counts reach restyle web's /metrics under celery-exporter's names.
        web = f"http://127.0.0.1:{shell['RESTYLE_WEB__PORT']}/metrics"
        user, _, password = shell["RESTYLE_WEB__USERS"].partition(":")
        scraped: list[str] = []

        def counted() -> bool:
            scraped[:] = [httpx.get(web, auth=(user, password), timeout=10).text]
            archived = r'celery_task_succeeded_total\{[^}]*name="restyle.archive"[^}]*\} 1\.0'
            return re.search(archived, scraped[0]) is not None

        wait_for(counted, 30, "task counts in /metrics", up)
        assert re.search(r'celery_worker_up\{hostname="media@[^"]+"\} 1\.0', scraped[0])
        assert 'celery_queue_length{queue_name="submit"} 0.0' in scraped[0]
        assert re.search(r'celery_task_runtime_bucket\{[^}]*name="restyle.submit"', scraped[0])
    finally:
        up.send_signal(signal.SIGINT)
        try:
            out, _ = up.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            kill_tree(up.pid)  # a stop that hangs must not leave a stack under the other tests
            raise
    assert up.returncode == 0, out[-3000:]
    assert "restyle is up" in out and "every process restyle up started has stopped" in out
    _gone, alive = psutil.wait_procs(family, timeout=5)
    assert alive == [], f"left behind: {[p.pid for p in alive]}"
    assert not env_file.exists()


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and every process below it."""
    with contextlib.suppress(psutil.NoSuchProcess):
        root = psutil.Process(pid)
        for process in [*root.children(recursive=True), root]:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
