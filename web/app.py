"""`create_web_app`: the Starlette app of ``restyle web`` built from `Settings`."""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from config.settings import Settings
from web import actions, api, events, views
from web.auth import AuthMiddleware, Credentials
from web.callbacks import crun_callback
from web.celery_metrics import CeleryCollector
from web.metrics import JobCollector, exposition
from web.service import Dispatch, Service, WakePoll

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; "
        "img-src 'self'; media-src 'self' http: https:; frame-ancestors 'none'"
    ),
}


async def healthz(request: Request) -> PlainTextResponse:
    """Liveness, without credentials."""
    return PlainTextResponse("ok")


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


def create_web_app(
    settings: Settings, dispatch: Dispatch | None = None, wake_poll: WakePoll | None = None
) -> Starlette:
    """The app; `WebConfigError` when no credentials are set and no-auth was not asked for.

    ``dispatch`` and ``wake_poll`` publish to the workers (default: a Celery app built from
    ``settings``, like the CLI's).
    """
    credentials = Credentials(settings.web)
    service = Service.from_settings(settings, dispatch, wake_poll)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(JobCollector(service))
    registry.register(CeleryCollector(service))
    routes = [
        Route("/healthz", healthz),
        Route("/", views.batches_page),
        Route("/events", events.batches_events),
        Route("/providers", views.providers_page),
        Route("/batches/{batch}", views.batch_page),
        Route("/batches/{batch}/rows", views.batch_rows),
        Route("/batches/{batch}/retry", actions.retry_batch, methods=["POST"]),
        Route("/batches/{batch}/cancel", actions.cancel_batch, methods=["POST"]),
        Route("/jobs/{job_id}", views.job_page),
        Route("/jobs/{job_id}/frame/{which}", views.frame),
        Route("/jobs/{job_id}/video", views.video),
        Route("/jobs/{job_id}/retry", actions.retry_job, methods=["POST"]),
        Route("/jobs/{job_id}/cancel", actions.cancel_one, methods=["POST"]),
        Route("/jobs/{job_id}/rerun", actions.rerun, methods=["POST"]),
        Route("/api/batches", api.batches),
        Route("/api/batches/{batch}", api.batch),
        Route("/api/batches/{batch}/jobs", api.jobs),
        Route("/api/jobs/{job_id}", api.job),
        Route("/callbacks/crun/{token}", crun_callback, methods=["POST"]),
        _metrics_route(registry),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(AuthMiddleware, credentials=credentials),
        ],
    )
    app.state.service = service
    return app
