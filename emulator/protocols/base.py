"""What every provider protocol supplies (`Wire`), what its handlers receive (`Call`), and the small
helpers they share (ISO times, JSON bodies, validation messages, ratio spellings)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from config.catalogue import CATALOGUE
from config.settings import ProviderName

if TYPE_CHECKING:
    from emulator.engine import Emulator
    from emulator.jobs import EditSpec, RemoteJob

FriendlyRatio = Literal["16:9", "9:16", "4:3", "3:4", "1:1", "21:9"]
PixelRatio = Literal[
    "1280:720", "720:1280", "1104:832", "832:1104", "960:960", "1584:672", "848:480", "640:480"
]
"""Runway's pixel ratios, which aimlapi takes too."""


class OutputClock(StrEnum):
    """From when an output URL's retention counts."""

    SUBMIT = "submit"  # segmind: 1 hour after submission
    FETCH = "fetch"  # Runway: every task fetch hands out fresh URLs
    FINISH = "finish"  # the others: from completion


class EditBody(BaseModel, ABC):
    """A provider's submit body, validated: it can say which edit it asks for."""

    @abstractmethod
    def spec(self) -> EditSpec:
        """The edit in the emulator's terms."""


Body = TypeVar("Body", bound=EditBody)


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
    body_status: ClassVar[int] = 400
    not_an_object: ClassVar[str] = "Invalid JSON body."
    invalid_prefix: ClassVar[str] = ""
    honours_idempotency: ClassVar[bool] = False
    """The provider documents honouring ``Idempotency-Key`` (Comfy): a repeat replays the job
    whatever the ``honour_idempotency_key`` knob says."""

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

    def charge_at_submit(self, job: RemoteJob) -> float:
        """USD the provider charges when it accepts ``job`` (a reseller's catalogue price for
        one run of its window; 0 where it bills at the end)."""
        spec = CATALOGUE[self.name]
        return spec.effective_price.estimate(spec.output_seconds)

    def charge_at_finish(self, job: RemoteJob) -> float:
        """USD the provider charges when ``job`` finishes (0 where it billed at submit)."""
        return 0.0

    def callback_body(self, job: RemoteJob) -> dict[str, Any] | None:
        """What to POST to the job's callback URL when it finishes (None: no callbacks)."""
        return None

    def callback_headers(self, job: RemoteJob, body: bytes, now: float) -> dict[str, str]:
        """Headers of a callback delivery of ``body`` (OpenRouter signs it)."""
        return {}

    async def read_body(
        self, request: Request, model: type[Body]
    ) -> tuple[Body, dict[str, Any]] | Response:
        """The body as ``model`` and as sent, or the provider's answer to a bad one.

        ``body_status``, ``not_an_object`` and ``invalid_prefix`` hold the provider's wording.
        """
        body = await json_object(request)
        if body is None:
            return self.error(self.body_status, self.not_an_object, request)
        try:
            return model.model_validate(body), body
        except ValidationError as exc:
            message = f"{self.invalid_prefix}{first_problem(exc)}"
            return self.error(self.body_status, message, request)


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
