"""`HttpAdapter`: what every provider adapter shares (spec, transport, clock, repr)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
from pydantic import SecretStr

from config.catalogue import ProviderSpec
from config.settings import ProviderName
from providers.base import RemoteJob, RemoteStatus
from providers.request import EditRequest
from providers.transport import Transport

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


class HttpAdapter(ABC):
    """One provider behind restyle's verbs, over an injected, pre-configured `httpx.Client`.

    The client carries base URL, auth headers and timeouts (see `providers.registry`); the
    adapter adds paths and bodies. Adapters never retry and raise only the taxonomy.
    """

    name: ProviderName

    def __init__(self, spec: ProviderSpec, client: httpx.Client, clock: Clock = utcnow) -> None:
        self.spec = spec
        self.clock = clock
        self.transport = Transport(spec.name.value, client)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.spec.base_url!r})"

    @staticmethod
    @abstractmethod
    def auth_headers(api_key: SecretStr) -> dict[str, str]:
        """The headers that authenticate a request with ``api_key``."""

    @staticmethod
    @abstractmethod
    def check(request: EditRequest, spec: ProviderSpec) -> None:
        """Raise `InvalidRequest` naming field and allowed values if ``spec`` cannot take it."""

    def validate(self, request: EditRequest) -> None:
        """Raise `InvalidRequest` naming field and allowed values if the provider cannot take it.

        Pure: no request is sent. Used by ``submit`` and by the batch preflight.
        """
        self.check(request, self.spec)

    @abstractmethod
    def submit(self, request: EditRequest, client_request_id: str) -> RemoteJob:
        """Validate, then POST the edit once with ``Idempotency-Key: client_request_id``."""

    @abstractmethod
    def poll(self, remote_id: str, *, submitted_at: datetime | None = None) -> RemoteStatus:
        """GET the remote job's state once."""


def idempotency(client_request_id: str) -> dict[str, str]:
    """The header that lets a provider (or the emulator) recognise a repeated submit."""
    return {"Idempotency-Key": client_request_id}
