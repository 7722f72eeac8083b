"""Run ``restyle web`` under uvicorn (``restyle web``, compose's ``web`` service)."""

from __future__ import annotations

import uvicorn

from config.settings import Settings
from web.app import create_web_app


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Serve until interrupted; `WebConfigError` before binding when no credentials are set."""
    app = create_web_app(settings)
    uvicorn.run(
        app,
        host=host or settings.web.host,
        port=port or settings.web.port,
        log_level="warning",
        access_log=False,
        server_header=False,
        # Behind a TLS proxy: trust X-Forwarded-* from localhost only (uvicorn's default).
        proxy_headers=True,
    )
