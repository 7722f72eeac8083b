"""Redis as production runs it: TLS only (a CA made here), an ACL user and a password.

A real worker, beat, Flower, ``restyle web`` and the CLI reach it with the certificate
verified and the user's password; no configuration dump shows the password; a Redis that
refuses it is named, with its cause, in one line within seconds; and every long-running process
stops on SIGTERM while it cannot authenticate.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from pydantic import SecretStr

from config.redis import (
    AUTHENTICATION,
    TLS,
    UNREACHABLE,
    RedisUnavailable,
    describe,
    probe,
    redis_client,
)
from config.settings import Settings
from devstack import Service, free_port, wait_for
from devstack.process import base_env
from devstack.secure_redis import SecureRedis, make_authority, start_secure_redis
from devstack.stack import dev_key
from workers.factory import create_app

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

USER, PASSWORD = "restyle-app", "acl-Pa55-word-9f3k"
ONE_LINE_BOUND_S = 10.0
"""Generous bound over the configured ``redis_connect_timeout_s`` (3 s): what is asserted is
that no retry loop or long default timeout stands between the user and the cause."""
CLI_BOUND_S = 25.0
"""The same for the whole CLI process, whose start alone (Python and its imports, about 2 s
idle) took 6 s on this shared 2-core machine under a load of 12; the CLI runs with
``RESTYLE_REDIS_FAILOVER_WAIT_S=120``, so a retry loop would still fail it."""
FLOWER_AUTH = "ops:flower-pw"
GRACE_S = 10.0
"""compose's default stop grace period."""


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureRedis]:
    workdir = tmp_path_factory.mktemp("secured")
    server = start_secure_redis(workdir / "redis", USER, PASSWORD, make_authority(workdir / "ca"))
    yield server
    server.stop()


@dataclass
class Ran:
    """One finished ``restyle`` command."""

    returncode: int
    stdout: str
    stderr: str
    elapsed_s: float


def restyle_all(*runs: tuple[dict[str, str], tuple[str, ...]], columns: int = 80) -> list[Ran]:
    """Run ``restyle`` commands side by side (each ``(env, args)``); 80 columns by default:
    a one-line error must not wrap in a narrow terminal."""
    started = time.monotonic()
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "cli", *args],
            env={**os.environ, **env, "COLUMNS": str(columns)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for env, args in runs
    ]
    done = []
    for child in children:
        out, err = child.communicate(timeout=120)
        done.append(Ran(child.returncode, out, err, time.monotonic() - started))
    return done


def test_the_cli_reaches_redis_over_verified_tls_as_the_acl_user(secured: SecureRedis) -> None:
    env = {**secured.env(), "RESTYLE_SEGMIND__API_KEYS": dev_key("segmind")}

    batches, providers = restyle_all((env, ("batches",)), (env, ("providers",)), columns=250)

    assert batches.returncode == 0, batches.stderr
    assert providers.returncode == 0, providers.stderr
    assert "closed" in next(line for line in providers.stdout.splitlines() if "segmind" in line)


def test_each_refusal_names_redis_and_its_cause_at_once(
    secured: SecureRedis, tmp_path: Path
) -> None:
    other = make_authority(tmp_path / "other-ca", name="someone-else")
    cases = {
        "wrong password": (secured.settings(redis_password=SecretStr("not-it")), AUTHENTICATION),
        "no password": (secured.settings(redis_password=None), AUTHENTICATION),
        "no such user": (secured.settings(redis_username="nobody"), AUTHENTICATION),
        "unknown CA": (secured.settings(redis_tls_ca_file=str(other.ca)), TLS),
        "closed port": (Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0"), UNREACHABLE),
    }
    for case, (settings, cause) in cases.items():
        started = time.monotonic()
        with pytest.raises(RedisUnavailable) as caught:
            probe(settings)

        assert caught.value.cause == cause, (case, str(caught.value))
        assert str(caught.value).startswith(f"Redis at {describe(settings)}: {cause} (")
        assert PASSWORD not in str(caught.value) and "not-it" not in str(caught.value)
        # No retry loop: far below redis_failover_wait_s (30 s), whatever the machine's load.
        assert time.monotonic() - started < ONE_LINE_BOUND_S, case


def test_no_client_retries_a_refused_password(secured: SecureRedis) -> None:
    # Every other connection error is retried for redis_failover_wait_s (here 30 s).
    client = redis_client(
        secured.settings(redis_password=SecretStr("not-it"), redis_failover_wait_s=30)
    )
    started = time.monotonic()
    with pytest.raises(redis.AuthenticationError):
        client.ping()

    assert time.monotonic() - started < ONE_LINE_BOUND_S


def test_celerys_broker_and_backend_verify_the_certificate_and_log_in(
    secured: SecureRedis, tmp_path: Path
) -> None:
    other = make_authority(tmp_path / "other-ca", name="someone-else")
    good, bad = (
        create_app(secured.settings()),
        create_app(secured.settings(redis_tls_ca_file=str(other.ca))),
    )
    try:
        with good.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1)
        assert good.backend.client.ping()
        with bad.connection_for_write() as conn, pytest.raises(Exception, match="CERTIFICATE"):
            conn.ensure_connection(max_retries=0)
        with pytest.raises(redis.ConnectionError, match="CERTIFICATE"):
            bad.backend.client.ping()
    finally:
        good.close()
        bad.close()


def test_the_cli_says_a_failing_dependency_in_one_line_within_seconds(
    secured: SecureRedis, tmp_path: Path
) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("RESTYLE_", "AWS_"))}
    base["RESTYLE_REDIS_FAILOVER_WAIT_S"] = "120"
    s3_down = {
        "RESTYLE_S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
        "RESTYLE_S3_CREATE_BUCKET": "true",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test-secret",
    }
    manifest = tmp_path / "library.csv"
    manifest.write_text("key,source,provider\nA,a.mp4,segmind\n")
    wrong = {**secured.env(), "RESTYLE_REDIS_PASSWORD": "not-it"}
    cases = [
        ("Redis at ", "authentication refused", wrong, ("batches",)),
        ("Redis at ", "unreachable", {"RESTYLE_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"},
         ("batches",)),
        ("S3 unreachable", "Could not connect to the endpoint URL", {**secured.env(), **s3_down},
         ("submit", str(manifest), "--prompt", "winter")),
    ]  # fmt: skip
    for what, cause, env, args in cases:
        [done] = restyle_all(({**base, **env}, args))

        assert done.returncode == 2, (what, done.stdout, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, (what, done.stderr)  # in 80 columns, no traceback
        assert lines[0].startswith(f"error: {what}") and cause in lines[0], lines[0]
        assert PASSWORD not in done.stderr and "not-it" not in done.stderr
        assert done.elapsed_s < CLI_BOUND_S, (what, done.elapsed_s)


def test_beat_refused_by_redis_stops_at_once_in_one_line(secured: SecureRedis) -> None:
    env = base_env(
        {
            **secured.env(),
            "RESTYLE_REDIS_PASSWORD": "not-it",
            "RESTYLE_REDIS_FAILOVER_WAIT_S": "120",
        }
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "workers.app", "beat", "-l", "INFO"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    elapsed = time.monotonic() - started

    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        next(line for line in done.stderr.splitlines() if "authentication refused" in line)
    ]
    assert "not-it" not in done.stderr
    assert elapsed < CLI_BOUND_S


def test_beat_stops_on_sigterm_while_redis_is_unreachable(tmp_path: Path) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"
    argv = [sys.executable, "-m", "celery", "-A", "workers.app", "beat", "-l", "INFO",
            "--pidfile", "", "-s", str(tmp_path / "beat-schedule")]  # fmt: skip
    beat = _start("beat", argv, {"RESTYLE_REDIS_URL": closed}, tmp_path)
    try:
        wait_for(lambda: "beat: Redis unreachable" in beat.log_tail(50), 60, "beat to meet Redis")

        assert _terminated_within(beat) < GRACE_S
    finally:
        beat.stop()


def _start(name: str, argv: list[str], env: dict[str, str], workdir: Path) -> Service:
    return Service(name, "", 0, argv, base_env(env), workdir / f"{name}.log").start()


def _terminated_within(service: Service) -> float:
    """SIGTERM ``service``; the seconds it took to exit (SIGKILL past twice the grace)."""
    assert service.process is not None
    started = time.monotonic()
    os.killpg(service.process.pid, signal.SIGTERM)
    try:
        service.process.wait(timeout=2 * GRACE_S)
    except subprocess.TimeoutExpired:
        service.kill()
    return time.monotonic() - started


def test_worker_beat_flower_and_web_work_show_no_password_and_stop_when_refused(
    secured: SecureRedis, tmp_path: Path
) -> None:
    env = {**secured.env(), "RESTYLE_LOG_FORMAT": "json"}
    flower_port, web_port = free_port(), free_port()
    celery = [sys.executable, "-m", "celery", "-A", "workers.app"]
    services = {
        "worker": _start("worker", [*celery, "worker", "-Q", "batch", "-c", "1", "-n",
                                    "secured@%h", "--without-gossip", "--without-mingle",
                                    "-l", "INFO"], env, tmp_path),
        "beat": _start("beat", [*celery, "beat", "-l", "INFO", "--pidfile", "",
                                "-s", str(tmp_path / "beat-schedule")], env, tmp_path),
        "flower": _start("flower", [sys.executable, "-m", "workers.flower"],
                         {**env, "RESTYLE_FLOWER_BASIC_AUTH": FLOWER_AUTH,
                          "RESTYLE_FLOWER_PORT": str(flower_port)}, tmp_path),
        "web": _start("web", [sys.executable, "-m", "cli", "web", "--no-auth",
                              "--port", str(web_port)], env, tmp_path),
    }  # fmt: skip
    try:
        _check_they_work(secured, services, flower_port, web_port)
        _check_they_stop_while_refused(secured, services, f"http://127.0.0.1:{web_port}")
    finally:
        for service in services.values():
            service.stop()


def _check_they_work(
    secured: SecureRedis, services: dict[str, Service], flower_port: int, web_port: int
) -> None:
    worker, beat = services["worker"], services["beat"]
    wait_for(lambda: "ready." in worker.log_tail(300), 60, "the worker")
    app = create_app(secured.settings())
    try:
        # What `celery inspect conf` prints, from the running worker, through the broker.
        dump = app.control.inspect(timeout=5, limit=1).conf()
    finally:
        app.close()
    assert dump, "the worker answered no inspect conf"
    conf = next(iter(dump.values()))
    text = json.dumps(dump)
    assert PASSWORD not in text
    assert conf["broker_url"].startswith(f"rediss://{USER}:**")
    assert conf["broker_use_ssl"]["ssl_ca_certs"] == str(secured.authority.ca)  # type: ignore[union-attr]

    client = redis_client(secured.settings())
    wait_for(lambda: "beat: Starting" in beat.log_tail(200), 60, "beat")
    wait_for(lambda: bool(client.keys("restyle:redbeat:*")), 30, "beat's lock and schedule")

    flower = f"http://127.0.0.1:{flower_port}"
    wait_for(lambda: httpx.get(f"{flower}/healthcheck").status_code == 200, 60, "flower")
    user, _, password = FLOWER_AUTH.partition(":")
    auth = (user, password)
    workers = httpx.get(f"{flower}/api/workers", params={"refresh": 1}, auth=auth, timeout=30)
    assert workers.status_code == 200 and "secured@" in workers.text
    assert PASSWORD not in workers.text

    web = f"http://127.0.0.1:{web_port}"
    wait_for(lambda: httpx.get(f"{web}/healthz").status_code == 200, 60, "restyle web")
    metrics = httpx.get(f"{web}/metrics", timeout=30)
    assert metrics.status_code == 200 and "restyle_" in metrics.text

    for service in services.values():
        assert PASSWORD not in service.log_path.read_text(errors="replace"), service.name
    client.close()


def _check_they_stop_while_refused(
    secured: SecureRedis, services: dict[str, Service], web_url: str
) -> None:
    """The user's password changes under the running processes: each is refused (the web
    says so with a 503 naming the cause), and each still stops on SIGTERM within the grace
    period."""
    admin = redis.Redis.from_url(
        secured.url.replace("rediss://", f"rediss://default:default-{PASSWORD}@"),
        ssl_ca_certs=str(secured.authority.ca),  # type: ignore[union-attr]
    )
    admin.execute_command("ACL", "SETUSER", USER, "resetpass", ">changed-elsewhere")
    admin.execute_command("CLIENT", "KILL", "USER", USER)
    beat = services["beat"]
    wait_for(lambda: "authentication refused" in beat.log_tail(100), 30, "beat to be refused")
    admin.close()
    page = httpx.get(f"{web_url}/api/batches", timeout=30)
    assert page.status_code == 503
    assert page.text.startswith("Redis at ") and "authentication refused" in page.text
    assert len(page.text.strip().splitlines()) == 1

    took = {name: _terminated_within(service) for name, service in services.items()}

    assert all(seconds < GRACE_S for seconds in took.values()), took
