"""A whole local restyle: Redis, S3, the emulator and workers, wired by environment variables."""

from __future__ import annotations

import hashlib
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import httpx

from config.settings import ENV_PREFIX, ProviderName
from devstack.process import Service, base_env, free_port, wait_for
from devstack.redis import start_redis
from devstack.s3 import MOTO_CREDENTIALS, start_moto
from devstack.sentinel import SentinelCluster, start_sentinel_set
from emulator.config import DEV_WEBHOOK_SECRET

ALL_QUEUES = ("submit", "submit.interactive", "poll", "archive", "batch", "media")


def dev_key(provider: ProviderName | str, index: int = 0) -> str:
    """A deterministic API key for local use, shaped like the provider's real ones."""
    digest = hashlib.sha256(f"{provider}:{index}".encode()).hexdigest()
    if ProviderName(provider) is ProviderName.RUNWAY:
        return "key_" + (digest * 2)[:128]
    if ProviderName(provider) is ProviderName.SEGMIND:
        return "SG_" + digest[:16]
    return f"{provider}-{digest[:32]}"


class Stack:
    """Starts and stops the local services; ``env()`` is what a worker or CLI needs to use them."""

    def __init__(self, workdir: Path | None = None, bucket: str = "restyle") -> None:
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="restyle-stack-"))
        self.bucket = bucket
        self.redis: Service | None = None
        self.sentinels: SentinelCluster | None = None
        self.s3: Service | None = None
        self.emulator: Service | None = None
        self.workers: list[Service] = []
        self.beat: Service | None = None

    def __enter__(self) -> Stack:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start_redis(self, appendonly: bool = False, port: int | None = None) -> Service:
        self.redis = start_redis(self.workdir / "redis", port=port, appendonly=appendonly)
        return self.redis

    def start_sentinels(self) -> SentinelCluster:
        """A Sentinel set (primary, replica, three sentinels) instead of one Redis."""
        self.sentinels = start_sentinel_set(self.workdir / "sentinel")
        return self.sentinels

    @property
    def redis_url(self) -> str:
        """``RESTYLE_REDIS_URL`` of the stack: the Sentinel set's, or the one Redis's."""
        if self.sentinels is not None:
            return self.sentinels.url
        assert self.redis is not None, "start Redis or a Sentinel set first"
        return self.redis.url

    def start_s3(self, port: int | None = None) -> Service:
        self.s3 = start_moto(self.workdir, port=port)
        return self.s3

    def start_emulator(self, *args: str, port: int | None = None) -> Service:
        """Start ``python -m emulator`` with extra command-line ``args`` (e.g. a preset)."""
        port = port or free_port()
        argv = [sys.executable, "-m", "emulator", "--host", "127.0.0.1", "--port", str(port)]
        url = f"http://127.0.0.1:{port}"
        log = self.workdir / "emulator.log"
        service = Service("emulator", url, port, [*argv, *args], base_env(), log).start()
        health = f"{url}/_emulator/health"
        try:
            wait_for(lambda: httpx.get(health).status_code == 200, 30, "the emulator")
        except TimeoutError:
            service.kill()
            raise RuntimeError(f"emulator failed to start:\n{service.log_tail()}") from None
        self.emulator = service
        return service

    def env(self, **extra: str) -> dict[str, str]:
        """RESTYLE_* variables pointing at the running services, plus ``extra``."""
        env: dict[str, str] = dict(MOTO_CREDENTIALS)
        env[ENV_PREFIX + "ALLOW_PRIVATE_SOURCES"] = "true"
        env[ENV_PREFIX + "LOG_FORMAT"] = "json"
        if self.redis or self.sentinels:
            env[ENV_PREFIX + "REDIS_URL"] = self.redis_url
        if self.sentinels:
            env[ENV_PREFIX + "REDIS_WAIT_REPLICAS"] = "1"
        if self.s3:
            env[ENV_PREFIX + "S3_ENDPOINT_URL"] = self.s3.url
            env[ENV_PREFIX + "S3_BUCKET"] = self.bucket
            env[ENV_PREFIX + "S3_CREATE_BUCKET"] = "true"
        if self.emulator:
            for provider in ProviderName:
                prefix = f"{ENV_PREFIX}{provider.value.upper()}__"
                env[prefix + "BASE_URL"] = f"{self.emulator.url}/{provider.value}"
                env[prefix + "API_KEYS"] = dev_key(provider)
            env[ENV_PREFIX + "OPENROUTER_WEBHOOK_SECRET"] = DEV_WEBHOOK_SECRET
        env.update(extra)
        return env

    def start_worker(
        self,
        queues: tuple[str, ...] = ALL_QUEUES,
        concurrency: int = 2,
        name: str | None = None,
        app: str = "workers.app",
        env: Mapping[str, str] | None = None,
    ) -> Service:
        """Start a real ``celery -A <app> worker`` subprocess (``env`` on top of the stack's
        environment) and wait until it is ready."""
        name = name or f"w{len(self.workers) + 1}"
        argv = [
            sys.executable, "-m", "celery", "-A", app, "worker",
            "-Q", ",".join(queues), "-c", str(concurrency), "-n", f"{name}@%h",
            "--without-gossip", "--without-mingle", "-l", "INFO",
        ]  # fmt: skip
        log = self.workdir / f"worker-{name}.log"
        worker = Service(f"worker-{name}", "", 0, argv, base_env(self.env(**(env or {}))), log)
        worker.start()
        try:
            wait_for(lambda: "ready." in worker.log_tail(200), 60, f"worker {name}")
        except TimeoutError:
            worker.kill()
            raise RuntimeError(f"worker {name} failed to start:\n{worker.log_tail()}") from None
        self.workers.append(worker)
        return worker

    def start_beat(self, **extra_env: str) -> Service:
        """Start ``celery -A workers.app beat`` (RedBeat: its schedule and lock live in Redis)."""
        argv = [sys.executable, "-m", "celery", "-A", "workers.app", "beat", "-l", "INFO",
                "--pidfile", "", "-s", str(self.workdir / "beat-schedule")]  # fmt: skip
        log = self.workdir / "beat.log"
        beat = Service("beat", "", 0, argv, base_env(self.env(**extra_env)), log).start()
        try:
            wait_for(lambda: "beat: Starting" in beat.log_tail(200), 60, "celery beat")
        except TimeoutError:
            beat.kill()
            raise RuntimeError(f"celery beat failed to start:\n{beat.log_tail()}") from None
        self.beat = beat
        return beat

    def stop(self) -> None:
        """Stop workers first (so they ack nothing half-done), then the services."""
        for worker in self.workers:
            worker.stop()
        self.workers.clear()
        for service in (self.beat, self.emulator, self.s3, self.redis):
            if service is not None:
                service.stop()
        if self.sentinels is not None:
            self.sentinels.stop()
