"""Run the emulator under uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from emulator.app import build_asgi
from emulator.config import EmulatorConfig


class _QuietDrops(logging.Filter):
    """Hide uvicorn's complaint about the connections the emulator drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "without starting response" not in record.getMessage()


def serve(host: str, port: int, config: EmulatorConfig) -> None:
    """Serve the emulator on ``host:port`` until interrupted."""
    logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
    uvicorn.run(
        build_asgi(config),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        backlog=4096,
        timeout_keep_alive=30,
    )
