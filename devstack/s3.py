"""moto's S3 server as a real HTTP endpoint on a free port (a subprocess, so it can be stopped)."""

from __future__ import annotations

import sys
from pathlib import Path

from devstack.process import Service, base_env, free_port, port_open, wait_for

MOTO_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def start_moto(workdir: Path, port: int | None = None, timeout_s: float = 30) -> Service:
    """Start ``moto.server`` on ``port`` (free by default); wait until it accepts connections."""
    port = port or free_port()
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    env = base_env(MOTO_CREDENTIALS)
    url = f"http://127.0.0.1:{port}"
    service = Service("s3", url, port, argv, env, workdir / "moto.log").start()
    try:
        wait_for(lambda: port_open(port), timeout_s, f"moto S3 server on port {port}")
    except TimeoutError:
        service.kill()
        raise
    return service
