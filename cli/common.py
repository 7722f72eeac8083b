"""What every command needs: settings that fail in one clear line, a console, a Redis client."""

from __future__ import annotations

import redis
import typer
from rich.console import Console
from rich.markup import escape

from config import redis as redis_factory
from config.settings import Settings, SettingsError, load_settings
from wire.text import visible

console = Console()
errors = Console(stderr=True)


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


def shown(text: object) -> str:
    """Outside text (provider words, file names, manifest headers, batch names) ready for the
    console: control sequences shown as escapes (`wire.text.visible`), rich markup escaped, so
    it prints as written and a ``[/x]`` in it is text, not a markup error."""
    return escape(visible(str(text)))


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` (which may quote outside text: shown as written) on stderr and return
    the Exit to raise."""
    errors.print(f"[red]error:[/] {shown(message)}", highlight=False)
    return typer.Exit(code)
