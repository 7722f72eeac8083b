"""What every command needs: settings that fail in one clear line, a console, a Redis client."""

from __future__ import annotations

import sys

import redis
import typer
from rich.console import Console

from config import redis as redis_factory
from config.settings import Settings, SettingsError, load_settings

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
        errors.print(f"[red]configuration error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None


def redis_client(settings: Settings) -> redis.Redis[bytes]:
    """A Redis client that fails with a readable message when Redis is unreachable."""
    client = redis_factory.redis_client(settings)
    try:
        client.ping()
    except redis.ConnectionError:
        where = redis_factory.describe(settings)
        errors.print(f"[red]cannot reach Redis ({where})[/]", highlight=False)
        raise typer.Exit(2) from None
    return client


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` on stderr and return the Exit to raise."""
    errors.print(f"[red]error:[/] {message}", highlight=False)
    return typer.Exit(code)
