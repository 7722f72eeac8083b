"""What every provider protocol supplies (`Wire`), what its handlers receive (`Call`), and the small
helpers they share (ISO times, JSON bodies, validation messages)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from config.settings import ProviderName

if TYPE_CHECKING:
    from emulator.engine import Emulator
    from emulator.jobs import RemoteJob


class OutputClock(StrEnum):
    """From when an output URL's retention counts."""

    SUBMIT = "submit"  # segmind: 1 hour after submission
    FETCH = "fetch"  # Runway: every task fetch hands out fresh URLs
    FINISH = "finish"  # the others: from completion


@dataclass(frozen=True)
class Call:
    """One authenticated API request, as a protocol handler sees it."""

    provider: ProviderName
    kid: str
    now: float
    base_url: str
    idempotency_key: str | None = None


class Wire(ABC):
    """One provider's wire protocol: auth header, error body, status codes and routes."""

    name: ClassVar[ProviderName]
    credits_status: ClassVar[int] = 402
    maintenance_status: ClassVar[int] = 503
    disabled_status: ClassVar[int] = 404
    output_clock: ClassVar[OutputClock] = OutputClock.FINISH

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def api_key(self, request: Request) -> str | None:
        """The API key the request carries (``Authorization: Bearer`` unless overridden)."""
        return bearer(request)

    def check_headers(self, request: Request) -> str | None:
        """A 400 message when a required non-auth header is wrong; None when fine."""
        return None

    @abstractmethod
    def error(self, status: int, message: str, request: Request) -> Response:
        """The provider's HTTP error answer."""

    @abstractmethod
    def routes(self) -> list[BaseRoute]:
        """The provider's real paths, relative to its mount."""

    def callback_body(self, job: RemoteJob) -> dict[str, Any] | None:
        """What to POST to the job's callback URL when it finishes (None: no callbacks)."""
        return None


def bearer(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def iso(timestamp: float | None) -> str | None:
    """``2025-01-15T12:00:00.000Z`` (None stays None)."""
    if timestamp is None:
        return None
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


async def json_object(request: Request) -> dict[str, Any] | None:
    """The request body when it is a JSON object; None otherwise."""
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def first_problem(exc: ValidationError) -> str:
    """``field: message`` of the first validation error."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "body"
    return f"{where}: {error['msg']}"


def parse_ratio(text: str | None) -> tuple[int, int] | None:
    """``"16:9"`` or ``"1280:720"`` -> (16, 9) / (1280, 720)."""
    if not text:
        return None
    width, _, height = text.partition(":")
    return int(width), int(height)
