"""A redis-server as production runs it: TLS only (a CA made here), an ACL user, a password.

The CA and the server's certificate (for ``127.0.0.1`` and ``localhost``) are made with the
``openssl`` command line; Debian's redis-server is built with TLS (``--tls-port``).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from config.redis import redis_client
from config.settings import Settings
from devstack.process import Service, base_env, free_port, wait_for
from devstack.redis import redis_server_binary


@dataclass(frozen=True)
class Authority:
    """A CA and a server certificate it signed (PEM files)."""

    ca: Path
    cert: Path
    key: Path


def make_authority(workdir: Path, name: str = "restyle-test-ca") -> Authority:
    """A self-signed CA and a server certificate for 127.0.0.1/localhost, valid one day."""
    if shutil.which("openssl") is None:
        raise RuntimeError("the openssl command is needed to make a test CA (apt-get openssl)")
    workdir.mkdir(parents=True, exist_ok=True)
    ca, ca_key = workdir / "ca.pem", workdir / "ca.key"
    cert, key, csr = workdir / "server.pem", workdir / "server.key", workdir / "server.csr"
    ext = workdir / "server.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for argv in (
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={name}",
         "-keyout", str(ca_key), "-out", str(ca)],
        ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
         "-keyout", str(key), "-out", str(csr)],
        ["x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
         "-CAcreateserial", "-days", "1", "-extfile", str(ext), "-out", str(cert)],
    ):  # fmt: skip
        subprocess.run(["openssl", *argv], check=True, capture_output=True, timeout=60)
    return Authority(ca, cert, key)


@dataclass
class SecureRedis:
    """The running server and the settings that reach it (``url`` has no secret)."""

    service: Service
    url: str
    username: str
    password: str
    authority: Authority | None

    def env(self) -> dict[str, str]:
        """``RESTYLE_REDIS_*`` for a process that should reach it."""
        env = {
            "RESTYLE_REDIS_URL": self.url,
            "RESTYLE_REDIS_USERNAME": self.username,
            "RESTYLE_REDIS_PASSWORD": self.password,
        }
        if self.authority is not None:
            env["RESTYLE_REDIS_TLS_CA_FILE"] = str(self.authority.ca)
        return env

    def settings(self, **overrides: object) -> Settings:
        ca = str(self.authority.ca) if self.authority else None
        values: dict[str, object] = {
            "redis_url": self.url,
            "redis_username": self.username,
            "redis_password": SecretStr(self.password),
            "redis_tls_ca_file": ca,
            "redis_failover_wait_s": 1,
            **overrides,
        }
        return Settings(**values)  # type: ignore[arg-type]

    def stop(self) -> None:
        self.service.stop()


def start_secure_redis(
    workdir: Path, username: str, password: str, authority: Authority | None, timeout_s: float = 20
) -> SecureRedis:
    """redis-server with ACL user ``username`` (and the default user's password set to a
    different one, so no password at all is refused); TLS only when ``authority`` is given."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [
        redis_server_binary(),
        "--bind", "127.0.0.1", "--dir", str(workdir), "--save", "", "--appendonly", "no",
        "--protected-mode", "no",
        "--requirepass", f"default-{password}",
        "--user", username, "on", f">{password}", "~*", "&*", "+@all",
    ]  # fmt: skip
    if authority is None:
        argv += ["--port", str(port)]
        scheme = "redis"
    else:
        argv += [
            "--port", "0", "--tls-port", str(port),
            "--tls-cert-file", str(authority.cert), "--tls-key-file", str(authority.key),
            "--tls-ca-cert-file", str(authority.ca), "--tls-auth-clients", "no",
        ]  # fmt: skip
        scheme = "rediss"
    url = f"{scheme}://127.0.0.1:{port}/0"
    service = Service("redis", url, port, argv, base_env(), workdir / "redis.log").start()
    found = SecureRedis(service, url, username, password, authority)
    client = redis_client(found.settings())
    try:
        wait_for(lambda: bool(client.ping()), timeout_s, f"secured redis-server on port {port}")
    except TimeoutError:
        service.kill()
        raise RuntimeError(f"redis-server did not start:\n{service.log_tail()}") from None
    finally:
        client.close()
    return found
