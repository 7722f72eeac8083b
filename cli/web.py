"""`restyle web`: the live dashboard, the crun callback receiver and /metrics."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import errors, fail, settings_or_exit
from config.redis import PERMANENT, RedisUnavailable, probe
from config.settings import Settings


def web(
    host: Annotated[str | None, typer.Option(help="bind address (RESTYLE_WEB__HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (RESTYLE_WEB__PORT)")] = None,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="serve without authentication, on purpose")
    ] = False,
) -> None:
    """Serve the dashboard (127.0.0.1:8300 by default); refuses to start without credentials."""
    from web.auth import WebConfigError
    from web.server import serve

    settings = settings_or_exit()
    _refuse_wrong_credentials(settings)
    if no_auth:
        settings = settings.model_copy(
            update={"web": settings.web.model_copy(update={"no_auth": True})}
        )
    try:
        serve(settings, host, port)
    except WebConfigError as exc:
        raise fail(str(exc), 2) from None


def _refuse_wrong_credentials(settings: Settings) -> None:
    """Exit 2 in one line when Redis refuses the password or the certificate (no page could
    work); an unreachable Redis is announced and waited for (pages answer 503 meanwhile)."""
    try:
        probe(settings)
    except RedisUnavailable as exc:
        if exc.cause in PERMANENT:
            raise fail(str(exc), 2) from None
        errors.print(f"[yellow]warning:[/] {exc}; serving anyway", highlight=False, soft_wrap=True)
