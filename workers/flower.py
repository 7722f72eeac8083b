"""Flower, the Celery dashboard, started with authentication on (``make flower``, compose).

Environment (read here only; see .env.example):

- ``RESTYLE_FLOWER_BASIC_AUTH``: ``user:password[,user2:password2]``. Required: without it
  Flower refuses to start (exit code 2) unless ``RESTYLE_FLOWER_NO_AUTH=1`` says so explicitly.
- ``RESTYLE_FLOWER_ADDRESS`` (default 127.0.0.1) and ``RESTYLE_FLOWER_PORT`` (default 5555).
- ``RESTYLE_FLOWER_READ_ONLY`` (default true): no revoking, rate-limit changes or task sending
  from the dashboard or its API.

Flower serves ``/metrics`` (Prometheus) and ``/healthcheck`` WITHOUT authentication, by design
(mher/flower#1066, #1342). Bind Flower to a private interface, let Prometheus scrape it there,
and publish the dashboard only through a reverse proxy that forwards everything but
``/metrics``. The credentials reach Flower through its ``FLOWER_BASIC_AUTH`` environment
variable, never its command line, so they do not show in ``ps``; the broker URL (and its
password) comes from the Celery app, not from ``--broker``. Flower runs as a child of this
process, which passes SIGTERM on and kills Flower if it has not exited `STOP_GRACE_S` later.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from typing import Any, NoReturn

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.placeholders import is_placeholder, placeholder_message

CREDENTIAL = re.compile(r"^[^:,\s]+:[^,\s]+$")
EXIT_USAGE = 2
STOP_GRACE_S = 5.0
"""How long Flower has to exit after SIGTERM before it is killed (it holds no state)."""


class FlowerConfigError(Exception):
    """Flower cannot start as configured; the message is one line, without the password."""


class FlowerOptions(BaseSettings):
    """How to run Flower, from ``RESTYLE_FLOWER_*``."""

    model_config = SettingsConfigDict(env_prefix="RESTYLE_FLOWER_", extra="ignore", frozen=True)

    basic_auth: SecretStr | None = None
    no_auth: bool = False
    address: str = "127.0.0.1"
    port: int = Field(default=5555, ge=1, le=65535)
    read_only: bool = True
    app: str = "workers.app"
    url_prefix: str | None = None
    purge_offline_workers_s: int = Field(default=3600, ge=0)
    """Forget workers offline this long (scaled-down replicas); 0 keeps them forever."""

    @field_validator("basic_auth")
    @classmethod
    def _check_pairs(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        pairs = [pair.strip() for pair in value.get_secret_value().split(",")]
        if not all(CREDENTIAL.match(pair) for pair in pairs):
            raise ValueError("must be user:password[,user2:password2]")
        return SecretStr(",".join(pairs))


@dataclass(frozen=True)
class FlowerLaunch:
    """The command line and the extra environment of one Flower process."""

    argv: list[str]
    env: dict[str, str]


def flower_command(options: FlowerOptions) -> list[str]:
    """Flower's command line (no secret in it); `FlowerConfigError` when auth is missing."""
    _require_auth(options)
    argv = [
        sys.executable, "-m", "celery", "-A", options.app, "flower",
        f"--address={options.address}",
        f"--port={options.port}",
        f"--read_only={str(options.read_only).lower()}",
    ]  # fmt: skip
    if options.purge_offline_workers_s:
        argv.append(f"--purge_offline_workers={options.purge_offline_workers_s}")
    if options.url_prefix:
        argv.append(f"--url_prefix={options.url_prefix}")
    return argv


def flower_launch(options: FlowerOptions) -> FlowerLaunch:
    """The command line plus ``FLOWER_BASIC_AUTH`` for the child's environment."""
    argv = flower_command(options)
    env = {}
    if options.basic_auth is not None:
        env["FLOWER_BASIC_AUTH"] = options.basic_auth.get_secret_value()
    return FlowerLaunch(argv, env)


def run_flower(options: FlowerOptions) -> NoReturn:
    """Run Flower as a child, pass SIGTERM and SIGINT on, and kill it `STOP_GRACE_S` later.

    Flower exits on SIGTERM only once its threads return, and a thread asking a broker that
    refuses it (a changed password) retries for as long as kombu lets it: without the kill,
    Flower outlived compose's and Kubernetes' grace periods.
    """
    launch = flower_launch(options)
    env = {name: value for name, value in os.environ.items() if name != "FLOWER_BASIC_AUTH"}
    env.update(launch.env)
    child = subprocess.Popen(launch.argv, env=env)

    def stop(signum: int, _: Any) -> None:
        child.send_signal(signum)
        try:
            child.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            child.kill()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    raise SystemExit(child.wait())


def load_options() -> FlowerOptions:
    """Read `FlowerOptions` from the environment; `FlowerConfigError` naming the variable."""
    try:
        return FlowerOptions()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "RESTYLE_FLOWER_" + "_".join(str(part) for part in first["loc"]).upper()
        raise FlowerConfigError(f"{name}: {first['msg']}") from None


def main() -> None:
    """``python -m workers.flower``: start Flower, or exit 2 with a one-line reason."""
    try:
        run_flower(load_options())
    except FlowerConfigError as exc:
        print(f"restyle flower: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None


def _require_auth(options: FlowerOptions) -> None:
    if options.basic_auth is not None and any(
        is_placeholder(pair.partition(":")[2])
        for pair in options.basic_auth.get_secret_value().split(",")
    ):
        raise FlowerConfigError(placeholder_message("RESTYLE_FLOWER_BASIC_AUTH"))
    if options.basic_auth is None and not options.no_auth:
        raise FlowerConfigError(
            "refusing to start without authentication: set RESTYLE_FLOWER_BASIC_AUTH="
            "user:password (or RESTYLE_FLOWER_NO_AUTH=1 to run it open, on a private network)"
        )


if __name__ == "__main__":
    main()
