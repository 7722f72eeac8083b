"""Every provider API request passes here: count it, check the key and headers, apply injected
and random faults, run the protocol's handler, then maybe spoil the answer (hold it, break its
JSON, or drop the connection)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from emulator.config import key_id
from emulator.echo import credential_of, echo_credential
from emulator.engine import Accepted, Emulator, Refusal
from emulator.faults import Fault, Plan, retry_after_header
from emulator.protocols.base import Call, EditBody, Wire
from emulator.stats import NO_KEY

Handler = Callable[[Call], Awaitable[Response]]
TRANSPORT = "emulator.transport"
DROPPED = "dropped"

_MESSAGES: dict[Fault, tuple[int, str]] = {
    Fault.RATE_LIMITED: (429, "Too many requests. Please retry later."),
    Fault.MAINTENANCE: (503, "The service is under maintenance."),
    Fault.SERVER_ERROR: (500, "Internal server error"),
    Fault.BAD_GATEWAY: (502, "Bad gateway"),
    Fault.UNAVAILABLE: (503, "Service unavailable"),
}


class DroppedResponse(Response):
    """Closes the connection without sending a single byte."""

    def __init__(self) -> None:
        super().__init__(b"", status_code=599)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        transport = scope.get(TRANSPORT)
        if transport is not None:
            transport.close()
            await asyncio.sleep(0.01)  # let the server notice the disconnect
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise ConnectionAbortedError("connection dropped on purpose")


class TransportCapture:
    """ASGI middleware that puts uvicorn's transport in the scope, so a response can drop it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cycle = getattr(send, "__self__", None)
        transport = getattr(cycle, "transport", None)
        if transport is not None:
            scope[TRANSPORT] = transport
        await self.app(scope, receive, send)


def base_url(emulator: Emulator, wire: Wire, request: Request) -> str:
    """The absolute URL of the provider's mount, as the client reached it."""
    root = emulator.config.public_url or f"{request.url.scheme}://{request.url.netloc}"
    return f"{root.rstrip('/')}/{wire.name.value}"


async def serve(
    emulator: Emulator, wire: Wire, request: Request, endpoint: str, handler: Handler
) -> Response:
    """Answer one API request of ``wire``'s provider through the fault pipeline."""
    now = emulator.clock()
    key = wire.api_key(request)
    kid = key_id(key) if key else NO_KEY
    response = await _answer(emulator, wire, request, handler, key, kid, now)
    credential = credential_of(request)
    if emulator.config.echo_credentials and credential:
        response = echo_credential(response, credential)
    status: int | str = DROPPED if isinstance(response, DroppedResponse) else response.status_code
    emulator.stats.request(wire.name.value, endpoint, status, kid, now)
    return response


async def _answer(
    emulator: Emulator,
    wire: Wire,
    request: Request,
    handler: Handler,
    key: str | None,
    kid: str,
    now: float,
) -> Response:
    if key is None or not emulator.accepts(wire.name, kid):
        return wire.error(401, "Unauthorized: missing or invalid API key.", request)
    problem = wire.check_headers(request)
    if problem is not None:
        return wire.error(400, problem, request)
    plan = emulator.precheck(wire.name, kid, now)
    if plan.reject is None:
        plan = emulator.plan(wire.name)
    if plan.reject is not None:
        return reject(emulator, wire, request, plan)
    if plan.delay_s:
        emulator.stats.faults[Fault.SLOW.value] += 1
        await asyncio.sleep(plan.delay_s)
    idempotency_key = request.headers.get("idempotency-key")
    call = Call(wire.name, kid, now, base_url(emulator, wire, request), idempotency_key)
    response = await handler(call)
    return await _spoil(emulator, response, plan)


def reject(emulator: Emulator, wire: Wire, request: Request, plan: Plan) -> Response:
    """The provider's error answer for a rejection fault, with Retry-After where it helps."""
    assert plan.reject is not None
    emulator.stats.faults[plan.reject.value] += 1
    status, message = _MESSAGES[plan.reject]
    if plan.reject is Fault.MAINTENANCE:
        status = wire.maintenance_status
    response = wire.error(status, message, request)
    if plan.retry_after_s is not None and status in (429, 455, 503):
        response.headers["retry-after"] = retry_after_header(plan.retry_after_s)
    return response


async def _spoil(emulator: Emulator, response: Response, plan: Plan) -> Response:
    if plan.after is None:
        return response
    emulator.stats.faults[plan.after.value] += 1
    if plan.after is Fault.DROPPED:
        return DroppedResponse()
    if plan.after is Fault.MALFORMED:
        body = bytes(response.body)
        return Response(body[: len(body) // 2] + b"<", 200, media_type="application/json")
    await asyncio.sleep(plan.hold_s)
    return response


def refused(wire: Wire, request: Request, refusal: Refusal) -> Response:
    """The provider's answer to a submit refused for credits (its own code) or concurrency (429)."""
    if refusal.reason == "credits":
        return wire.error(wire.credits_status, refusal.message, request)
    if refusal.reason == "disabled":
        return wire.error(wire.disabled_status, refusal.message, request)
    response = wire.error(429, refusal.message, request)
    if refusal.reason == "concurrency":
        # The daily cap's 429 carries no Retry-After: Runway documents none.
        response.headers["retry-after"] = retry_after_header(refusal.retry_after_s or 1.0)
    return response


async def accept(
    wire: Wire, request: Request, call: Call, model: type[EditBody]
) -> Accepted | Response:
    """Read a submit body as ``model`` and submit its edit; the provider's answer if refused."""
    parsed = await wire.read_body(request, model)
    if isinstance(parsed, Response):
        return parsed
    params, body = parsed
    outcome = wire.emulator.submit(call, params.spec(), body)
    return outcome if isinstance(outcome, Accepted) else refused(wire, request, outcome)


def api_route(
    wire: Wire,
    path: str,
    methods: list[str],
    handler: Callable[[Request, Call], Awaitable[Response]],
) -> Route:
    """A route of ``wire``'s provider whose requests go through `serve`."""

    async def endpoint(request: Request) -> Response:
        name = f"{request.method} {path}"
        return await serve(wire.emulator, wire, request, name, lambda call: handler(request, call))

    return Route(path, endpoint, methods=methods)
