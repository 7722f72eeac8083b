"""`restyle web`: the live dashboard, the crun callback receiver and /metrics."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import fail, settings_or_exit


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
    if no_auth:
        settings = settings.model_copy(
            update={"web": settings.web.model_copy(update={"no_auth": True})}
        )
    try:
        serve(settings, host, port)
    except WebConfigError as exc:
        raise fail(str(exc), 2) from None
