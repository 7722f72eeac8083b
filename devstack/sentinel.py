"""A local Sentinel set: one primary, one replica and three sentinels, all on loopback ports.

``redis-server --sentinel`` with a config file each (sentinels rewrite their file as they learn
the set). Failover is quick here (``down-after-milliseconds`` 1000), so a test can SIGKILL the
primary and see a replica promoted within a few seconds; a killed primary restarted with
`restart` comes back as a replica of the new one (the sentinels reconfigure it).
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

import redis

from devstack.process import Service, base_env, free_port, wait_for
from devstack.redis import redis_server_binary, start_redis

MASTER_NAME = "restyle"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 6000


def _sentinel_conf(port: int, primary_port: int, workdir: Path) -> str:
    return "\n".join([
        f"port {port}",
        "bind 127.0.0.1",
        "protected-mode no",
        f"dir {workdir}",
        f"sentinel monitor {MASTER_NAME} 127.0.0.1 {primary_port} 2",
        f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}",
        f"sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}",
        f"sentinel parallel-syncs {MASTER_NAME} 1",
        "",
    ])  # fmt: skip


def start_sentinel(workdir: Path, primary_port: int, index: int) -> Service:
    """One ``redis-server --sentinel`` watching the primary on ``primary_port``."""
    port = free_port()
    home = workdir / f"sentinel-{index}"
    home.mkdir(parents=True, exist_ok=True)
    conf = home / "sentinel.conf"
    conf.write_text(_sentinel_conf(port, primary_port, home))
    argv = [redis_server_binary(), str(conf), "--sentinel"]
    url = f"redis://127.0.0.1:{port}"
    service = Service(f"sentinel-{index}", url, port, argv, base_env(), home / "sentinel.log")
    service.start()
    client = redis.Redis(port=port)
    try:
        wait_for(lambda: bool(client.ping()), 20, f"sentinel on port {port}")
    finally:
        client.close()
    return service


@dataclass
class SentinelCluster:
    """The running set; `url` is what ``RESTYLE_REDIS_URL`` takes."""

    workdir: Path
    nodes: list[Service]
    sentinels: list[Service] = field(default_factory=list)

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{sentinel.port}" for sentinel in self.sentinels)
        return f"sentinel://{hosts}/{MASTER_NAME}/0"

    def primary_port(self) -> int:
        """The primary's port, as the first sentinel that answers sees it."""
        for sentinel in self.sentinels:
            client = redis.Redis(port=sentinel.port, socket_timeout=1)
            try:
                answer = client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME)
                return int(answer[1])
            except redis.RedisError:
                continue
            finally:
                client.close()
        raise RuntimeError("no sentinel answered")

    def node(self, port: int) -> Service:
        """The data node listening on ``port``."""
        return next(node for node in self.nodes if node.port == port)

    def primary(self) -> Service:
        return self.node(self.primary_port())

    def replica(self) -> Service:
        primary = self.primary_port()
        return next(node for node in self.nodes if node.port != primary)

    def role(self, node: Service) -> str:
        """``master`` or ``slave``, as the node itself says."""
        client = redis.Redis(port=node.port, socket_timeout=1)
        try:
            return str(client.info("replication")["role"])
        finally:
            client.close()

    def wait_replicated(self, timeout_s: float = 30) -> None:
        """Until the primary the sentinels name has a replica that acknowledges its writes.

        "online" in INFO only says the primary has sent the first sync; a replica still loading
        it answers no REPLCONF GETACK, so a WAIT made then counts 0. The last check is a WAIT.
        """

        def ready() -> bool:
            primary = self.primary()
            client = redis.Redis(port=primary.port, socket_timeout=3)
            try:
                info = client.info("replication")
                replicas = [value for name, value in info.items() if name.startswith("slave")]
                online = [r for r in replicas if isinstance(r, dict) and r.get("state") == "online"]
                if info["role"] != "master" or not online:
                    return False
                return int(client.wait(1, 1000)) >= 1
            finally:
                client.close()

        wait_for(ready, timeout_s, "a primary with a connected replica")

    def wait_failover(self, old_port: int, timeout_s: float = 60) -> int:
        """Until the sentinels name a primary other than ``old_port`` that says it is one."""

        def moved() -> bool:
            port = self.primary_port()
            return port != old_port and self.role(self.node(port)) == "master"

        wait_for(moved, timeout_s, "the sentinels' failover")
        return self.primary_port()

    def kill_primary(self) -> Service:
        """SIGKILL the primary, as a crashed machine would; return it (dead)."""
        primary = self.primary()
        primary.kill()
        return primary

    def restart(self, node: Service, timeout_s: float = 20) -> None:
        """Start ``node`` again on its port; the sentinels make it a replica of the primary."""
        node.start()
        client = redis.Redis(port=node.port)
        try:
            wait_for(lambda: bool(client.ping()), timeout_s, f"redis-server on port {node.port}")
        finally:
            client.close()

    def freeze(self, node: Service) -> None:
        """SIGSTOP ``node``: it stops reading its replication stream (and everything else)."""
        assert node.process is not None
        os.kill(node.process.pid, signal.SIGSTOP)

    def thaw(self, node: Service) -> None:
        assert node.process is not None
        os.kill(node.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        for service in [*self.sentinels, *self.nodes]:
            if service.process is not None and service.alive:
                self.thaw(service)
            service.stop()


def start_sentinel_set(workdir: Path) -> SentinelCluster:
    """A primary, a replica of it and three sentinels; returns once replication is up."""
    primary = start_redis(workdir / "primary")
    replica = start_redis(
        workdir / "replica", extra_args=["--replicaof", "127.0.0.1", str(primary.port)]
    )
    cluster = SentinelCluster(workdir, [primary, replica])
    try:
        for index in range(3):
            cluster.sentinels.append(start_sentinel(workdir, primary.port, index + 1))
        cluster.wait_replicated()
    except Exception:
        cluster.stop()
        raise
    return cluster
