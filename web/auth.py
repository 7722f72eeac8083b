"""Who may use ``restyle web``: basic-auth users and bearer tokens from `WebSettings`.

Every route but ``/healthz``, ``/favicon.ico`` and the callbacks (which carry their own per-job
token) answers 401 without valid credentials. Comparisons take constant time; the credentials are
never echoed. The example passwords of ``.env.example`` are refused at start. Each failed login
is logged (the user name as shown text, never the password) and counted per client address: past
``login_failures_per_min`` in a minute the client gets 429 with Retry-After (`LoginThrottle`).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import time

from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from config.placeholders import is_placeholder, placeholder_message
from config.settings import WebSettings
from pipeline.callbacks import CALLBACK_PATH, OPENROUTER_PATH
from web.guards import LoginThrottle
from wire.text import visible

OPEN_PATHS = frozenset({"/healthz", "/favicon.ico"})
ANONYMOUS = "anonymous"
log = logging.getLogger("restyle.web.auth")


class WebConfigError(Exception):
    """``restyle web`` was asked to start without any way to authenticate."""


class Credentials:
    """The accepted users and tokens; ``check`` names the user an Authorization header is."""

    def __init__(self, web: WebSettings) -> None:
        pairs = (secret.get_secret_value().partition(":") for secret in web.users)
        self.users = {user.encode(): password.encode() for user, _, password in pairs}
        self.tokens = [token.get_secret_value().encode() for token in web.tokens]
        self.open = web.no_auth
        if any(is_placeholder(password.decode()) for password in self.users.values()):
            raise WebConfigError(placeholder_message("RESTYLE_WEB__USERS"))
        if any(is_placeholder(token.decode()) for token in self.tokens):
            raise WebConfigError(placeholder_message("RESTYLE_WEB__TOKENS"))
        if not (self.users or self.tokens or self.open):
            raise WebConfigError(
                "refusing to start without authentication: set RESTYLE_WEB__USERS=user:password "
                "or RESTYLE_WEB__TOKENS=token (or RESTYLE_WEB__NO_AUTH=true, or --no-auth, "
                "to run it open on purpose)"
            )

    def check(self, header: str | None) -> str | None:
        """The user's name for a valid ``Authorization`` header, else None."""
        if self.open:
            return ANONYMOUS
        if not header:
            return None
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "basic":
            return self._basic(value.strip())
        if scheme.lower() == "bearer":
            return self._bearer(value.strip().encode())
        return None

    def _basic(self, value: str) -> str | None:
        try:
            decoded = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return None
        user, _, password = decoded.partition(b":")
        expected = self.users.get(user)
        # Compare against something even for an unknown user, so both take the same time.
        ok = hmac.compare_digest(expected or b"\0" * max(len(password), 1), password)
        return user.decode(errors="replace") if ok and expected is not None else None

    def _bearer(self, token: bytes) -> str | None:
        found = None
        for index, known in enumerate(self.tokens):
            if hmac.compare_digest(known, token):
                found = f"token-{index + 1}"
        return found


def is_open_path(path: str) -> bool:
    """Routes that need no credentials: the health check and the callbacks (own tokens)."""
    return path in OPEN_PATHS or path.startswith((CALLBACK_PATH, OPENROUTER_PATH))


class AuthMiddleware:
    """401 with a Basic challenge unless the request carries valid credentials."""

    def __init__(
        self, app: ASGIApp, credentials: Credentials, throttle: LoginThrottle | None = None
    ) -> None:
        self.app = app
        self.credentials = credentials
        self.throttle = throttle or LoginThrottle()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or is_open_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        header = connection.headers.get("authorization")
        client = connection.client.host if connection.client else "?"
        now = time.monotonic()
        wait = self.throttle.retry_after(client, now) if header else None
        if wait is not None:
            answer = PlainTextResponse(
                "too many failed logins; try again later",
                status_code=429,
                headers={"Retry-After": str(int(wait) + 1)},
            )
            await answer(scope, receive, send)
            return
        user = self.credentials.check(header)
        if user is None and header:
            self.throttle.failed(client, now)
            log.warning("web login failed: %s from %s", who_tried(header), client)
        if user is None:
            answer = PlainTextResponse(
                "authentication required",
                status_code=401,
                headers={"WWW-Authenticate": 'Basic realm="restyle", charset="UTF-8"'},
            )
            await answer(scope, receive, send)
            return
        scope.setdefault("state", {})["user"] = user
        await self.app(scope, receive, send)


def who_tried(header: str) -> str:
    """A failed ``Authorization`` header in words for the log: the basic user's name (shown as
    text, at most 64 characters), or the scheme; never a password or a token."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return f"a {visible(scheme[:16].lower())} credential"
    try:
        user = base64.b64decode(value.strip(), validate=True).partition(b":")[0]
    except (binascii.Error, ValueError):
        return "an unreadable basic credential"
    return f"user {visible(user.decode(errors='replace')[:64])!r}"
