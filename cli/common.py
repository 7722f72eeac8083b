"""What every command needs: settings that fail in one clear line, a console, a Redis client."""

from __future__ import annotations

import sys

import redis
import typer
from rich.console import Console
from rich.markup import escape

from config import redis as redis_factory
from config.settings import Settings, SettingsError, load_settings
from wire.text import visible

PIPED_WIDTH = 100_000
"""Piped output is not cut to a screen's width (a terminal's own width is used on one)."""


def _console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    # Piped or redirected: whole lines, no colours, nothing drawn over an earlier line.
    return Console(stderr=stderr, width=PIPED_WIDTH, no_color=True, soft_wrap=True)


console = _console()
errors = _console(stderr=True)


def settings_or_exit() -> Settings:
    """The environment's settings, or exit 2 with the one line that names the variable."""
    try:
        return load_settings()
    except SettingsError as exc:
        errors.print(f"[red]configuration error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def redis_client(settings: Settings) -> redis.Redis[bytes]:
    """A Redis client, once one PING says Redis answers: otherwise exit 2 with one line
    naming Redis and the cause (unreachable, authentication, TLS) within
    ``redis_connect_timeout_s``, instead of retrying as a worker would over a failover."""
    redis_answers(settings)
    return redis_factory.redis_client(settings)


def redis_answers(settings: Settings) -> None:
    """Return once one PING is answered; else exit 2 with the line naming the cause."""
    try:
        redis_factory.probe(settings)
    except redis_factory.RedisUnavailable as exc:
        raise fail(str(exc), 2) from None


def shown(text: object) -> str:
    """Outside text (provider words, file names, manifest headers, batch names) ready for the
    console: control sequences shown as escapes (`wire.text.visible`), rich markup escaped, so
    it prints as written and a ``[/x]`` in it is text, not a markup error."""
    return escape(visible(str(text)))


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` on stderr and return the Exit to raise."""
    # One line however narrow the terminal: a log collector or grep sees the whole cause.
    errors.print(f"[red]error:[/] {shown(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)
