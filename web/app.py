"""`create_web_app`: the Starlette app of ``restyle web`` built from `Settings`."""

from __future__ import annotations

import logging

import redis
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from config.redis import unavailable
from config.settings import Settings
from web import actions, api, events, views
from web.auth import AuthMiddleware, Credentials
from web.callbacks import crun_callback, openrouter_callback
from web.celery_metrics import CeleryCollector
from web.guards import LoginThrottle, allowed_hosts, host_allowed
from web.metrics import JobCollector, exposition
from web.service import ClipSteps, Dispatch, Service, WakePoll

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; "
        "img-src 'self'; media-src 'self' http: https:; frame-ancestors 'none'"
    ),
}


log = logging.getLogger(__name__)


async def redis_down(request: Request, exc: Exception) -> Response:
    """503 naming Redis and the cause (unreachable, authentication, TLS) in one line, logged
    once per request without a traceback: every route needs Redis, and a 500 said nothing."""
    problem = unavailable(request.app.state.service.settings, exc)
    log.warning("%s %s: %s", request.method, request.url.path, problem)
    return PlainTextResponse(f"{problem}\n", status_code=503)


async def healthz(request: Request) -> PlainTextResponse:
    """Liveness, without credentials."""
    return PlainTextResponse("ok")


FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<rect width="32" height="32" rx="6" fill="#17803d"/>'
    '<path d="M7 23V9h9a5 5 0 0 1 0 10h-2l6 4" fill="none" stroke="#fff" stroke-width="3"/></svg>'
)


async def favicon(request: Request) -> Response:
    """The dashboard's icon (an "r" on green), so browsers stop asking for a missing one."""
    return Response(FAVICON, media_type="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=86400"})  # fmt: skip


def _metrics_route(registry: CollectorRegistry) -> Route:
    async def metrics(request: Request) -> Response:
        body = await run_in_threadpool(exposition, registry)
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    return Route("/metrics", metrics)


class SecurityHeaders:
    """Adds `SECURITY_HEADERS` to every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)


class HostGuard:
    """400 for a request whose Host header is not one of ours (DNS rebinding), but /healthz."""

    def __init__(self, app: ASGIApp, hosts: frozenset[str]) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope["path"] != "/healthz":
            host = HTTPConnection(scope).headers.get("host")
            if not host_allowed(host, self.hosts):
                answer = PlainTextResponse(
                    "unknown host: add it to RESTYLE_WEB__ALLOWED_HOSTS", status_code=400
                )
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_web_app(
    settings: Settings,
    dispatch: Dispatch | None = None,
    wake_poll: WakePoll | None = None,
    clip_steps: ClipSteps | None = None,
) -> Starlette:
    """The app; `WebConfigError` when no credentials are set and no-auth was not asked for.

    ``dispatch`` and ``wake_poll`` publish to the workers (default: a Celery app built from
    ``settings``, like the CLI's).
    """
    credentials = Credentials(settings.web)
    service = Service.from_settings(settings, dispatch, wake_poll, clip_steps)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(JobCollector(service))
    registry.register(CeleryCollector(service))
    routes = [
        Route("/healthz", healthz),
        Route("/favicon.ico", favicon),
        Route("/", views.batches_page),
        Route("/events", events.batches_events),
        Route("/providers", views.providers_page),
        Route("/batches/{batch}", views.batch_page),
        Route("/batches/{batch}/rows", views.batch_rows),
        Route("/batches/{batch}/retry", actions.retry_batch_action, methods=["POST"]),
        Route("/batches/{batch}/cancel", actions.cancel_batch_action, methods=["POST"]),
        Route("/clips/{clip_id}", views.clip_page),
        Route("/clips/{clip_id}/frame/{which}", views.clip_frame),
        Route("/clips/{clip_id}/video/{which}", views.clip_video),
        Route("/clips/{clip_id}/retry", actions.retry_clip_action, methods=["POST"]),
        Route("/clips/{clip_id}/cancel", actions.cancel_clip_action, methods=["POST"]),
        Route(
            "/clips/{clip_id}/segments/{index}/rerun",
            actions.rerun_segment_action,
            methods=["POST"],
        ),
        Route("/jobs/{job_id}", views.job_page),
        Route("/jobs/{job_id}/frame/{which}", views.frame),
        Route("/jobs/{job_id}/video", views.video),
        Route("/jobs/{job_id}/retry", actions.retry_job, methods=["POST"]),
        Route("/jobs/{job_id}/cancel", actions.cancel_one, methods=["POST"]),
        Route("/jobs/{job_id}/rerun", actions.rerun, methods=["POST"]),
        Route("/api/batches", api.batches),
        Route("/api/batches/{batch}", api.batch),
        Route("/api/batches/{batch}/jobs", api.jobs),
        Route("/api/batches/{batch}/items", api.items),
        Route("/api/clips/{clip_id}", api.clip),
        Route("/api/jobs/{job_id}", api.job),
        Route("/callbacks/crun/{token}", crun_callback, methods=["POST"]),
        Route("/callbacks/openrouter/{token}", openrouter_callback, methods=["POST"]),
        _metrics_route(registry),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(
                HostGuard, hosts=allowed_hosts(settings.web.allowed_hosts, settings.public_url)
            ),
            Middleware(
                AuthMiddleware,
                credentials=credentials,
                throttle=LoginThrottle(limit=settings.web.login_failures_per_min),
            ),
        ],
        exception_handlers={redis.RedisError: redis_down},
    )
    app.state.service = service
    return app
