"""The Starlette application: ``/_emulator`` admin plus one mount per provider at ``/<provider>``,
each with its real paths, its output files under ``/_files/<token>.mp4`` and its own 404/405."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import ASGIApp

from config.settings import ProviderName
from emulator.admin import Admin
from emulator.config import EmulatorConfig
from emulator.engine import Emulator
from emulator.gateway import TransportCapture
from emulator.outputs import mp4_response
from emulator.protocols.aimlapi import AimlapiWire
from emulator.protocols.base import Wire
from emulator.protocols.comfy import ComfyWire
from emulator.protocols.crun import CrunWire
from emulator.protocols.openrouter import OpenRouterWire
from emulator.protocols.runway import RunwayWire
from emulator.protocols.segmind import SegmindWire
from emulator.protocols.vibedream import VibedreamWire
from emulator.stats import NO_KEY

WIRES: dict[ProviderName, type[Wire]] = {
    ProviderName.RUNWAY: RunwayWire,
    ProviderName.SEGMIND: SegmindWire,
    ProviderName.AIMLAPI: AimlapiWire,
    ProviderName.VIBEDREAM: VibedreamWire,
    ProviderName.CRUN: CrunWire,
    ProviderName.OPENROUTER: OpenRouterWire,
    ProviderName.COMFY: ComfyWire,
}


def _files_route(wire: Wire) -> Route:
    async def download(request: Request) -> Response:
        emulator = wire.emulator
        data = emulator.output(wire.name, request.path_params["token"])
        if data is None:
            response = wire.error(
                404, "Not found: the file does not exist or has expired.", request
            )
        else:
            padding = emulator.config.output_padding_bytes
            response = mp4_response(data, padding, head=request.method == "HEAD")
        now = emulator.clock()
        emulator.stats.request(
            wire.name.value, f"{request.method} /_files", response.status_code, NO_KEY, now
        )
        return response

    return Route("/_files/{token}.mp4", download, methods=["GET", "HEAD"])


def _fallback_route(wire: Wire, routes: list[BaseRoute]) -> Route:
    async def fallback(request: Request) -> Response:
        partial = any(route.matches(request.scope)[0] is Match.PARTIAL for route in routes)
        if partial:
            return wire.error(405, "Method not allowed.", request)
        return wire.error(404, "Not found.", request)

    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
    return Route("/{path:path}", fallback, methods=methods)


def _mount(wire: Wire) -> Mount:
    routes = [*wire.routes(), _files_route(wire)]
    return Mount(f"/{wire.name.value}", routes=[*routes, _fallback_route(wire, routes)])


def build_app(config: EmulatorConfig, clock: Callable[[], float] = time.time) -> Starlette:
    """The emulator application; ``app.state.emulator`` is its `Emulator`."""
    emulator = Emulator(config, clock)
    mounts: list[BaseRoute] = [Mount("/_emulator", routes=Admin(emulator).routes())]
    for name, factory in WIRES.items():
        wire = factory(emulator)
        emulator.wires[name] = wire
        mounts.append(_mount(wire))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await emulator.start()
        try:
            yield
        finally:
            await emulator.stop()

    app = Starlette(routes=mounts, lifespan=lifespan)
    app.state.emulator = emulator
    return app


def build_asgi(config: EmulatorConfig) -> ASGIApp:
    """`build_app` wrapped so that a response can drop its connection (see `DroppedResponse`)."""
    return TransportCapture(build_app(config))
