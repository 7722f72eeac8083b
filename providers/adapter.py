"""`ProviderAdapter`: the one interface of a provider, and what every adapter shares (spec,
transport, clock, auth, exchange)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import httpx
from pydantic import SecretStr

from config.catalogue import ProviderSpec
from config.redaction import Redactor
from config.settings import ProviderName
from jobs.request import EditRequest
from providers.base import RemoteJob, RemoteStatus
from providers.errors import AnswerLost, DailyCap, ProviderError, RateLimited
from providers.transport import Transport
from providers.validation import check_against_spec

Clock = Callable[[], datetime]
Parsed = TypeVar("Parsed", covariant=True)


class Parser(Protocol[Parsed]):
    """A module's pure ``parse_*`` function: ``(status, headers, body, *, spec, now)``."""

    def __call__(
        self,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        *,
        spec: ProviderSpec,
        now: datetime,
    ) -> Parsed: ...


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


class ProviderAdapter(ABC):
    """One provider's wire protocol behind restyle's verbs, over an injected, pre-configured
    `httpx.Client`.

    The client carries base URL, auth headers and timeouts (see `providers.registry`); the
    adapter adds paths and bodies. Adapters never retry and raise only the taxonomy. A provider
    that can cancel a remote job also implements `providers.base.Cancellable`.
    """

    name: ProviderName
    submit_read_timeout_s: float | None = None
    """A submit's read timeout (None: the client's). Longer than a poll's: a slow answer to a
    POST is still an answer, and a lost one may mean a second charge."""

    def __init__(
        self,
        spec: ProviderSpec,
        client: httpx.Client,
        clock: Clock = utcnow,
        redactor: Redactor | None = None,
    ) -> None:
        self.spec = spec
        self.clock = clock
        self.transport = Transport(spec.name.value, client, redactor)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.spec.base_url!r})"

    @staticmethod
    def auth_headers(api_key: SecretStr) -> dict[str, str]:
        """The headers that authenticate a request with ``api_key`` (a Bearer key by default)."""
        return {"Authorization": f"Bearer {api_key.get_secret_value()}"}

    @staticmethod
    def check(request: EditRequest, spec: ProviderSpec) -> None:
        """Raise `InvalidRequest` naming field and allowed values if ``spec`` cannot take it.

        The catalogue's checks; a provider with more rules overrides this with its module's
        ``validate_request``.
        """
        check_against_spec(request, spec)

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
        """GET the remote job's state once.

        ``submitted_at`` (the `RemoteJob`'s) lets providers whose retention runs from submission
        (segmind) compute an exact ``expires_at``; the others ignore it.
        """

    def close(self) -> None:
        """Close the adapter's client (its pooled connections)."""
        self.transport.client.close()

    def exchange(self, parse: Parser[Parsed], method: str, path: str, **options: Any) -> Parsed:
        """Send one request (``options`` go to `Transport.send`) and ``parse`` the answer.

        Raises what the transport or ``parse`` raises: the taxonomy, with the keys scrubbed out;
        a failed remote job's message is scrubbed the same way.
        """
        with self.transport.guard():
            wire = self.transport.send(method, path, **options)
            return self.transport.clean(parse(*wire.parts(), spec=self.spec, now=self.clock()))

    def post_edit(
        self, parse: Parser[RemoteJob], path: str, body: dict[str, Any], client_request_id: str
    ) -> RemoteJob:
        """POST a submit ``body`` once, with ``Idempotency-Key: client_request_id``.

        A 2xx whose body cannot be read raises `AnswerLost`: the job may exist. A 429 without
        Retry-After from a provider whose 429 is only its daily cap (the catalogue's
        ``rate_limit_is_daily_cap``) raises `DailyCap`.
        """
        with self.transport.guard():
            wire = self.transport.send(
                "POST",
                path,
                json=body,
                headers=idempotency(client_request_id),
                read_timeout_s=self.submit_read_timeout_s,
            )
            try:
                return parse(*wire.parts(), spec=self.spec, now=self.clock())
            except ProviderError as exc:
                if 200 <= wire.status < 300 and unreadable(exc):
                    raise AnswerLost(exc.provider, exc.message, wire.status) from exc
                raise
            except RateLimited as exc:
                if self.spec.rate_limit_is_daily_cap and exc.retry_after is None:
                    raise DailyCap(exc.provider, exc.message, exc.status_code) from exc
                raise


def unreadable(exc: ProviderError) -> bool:
    """True for the error `providers.http.decode` raises: a body restyle could not read (the
    provider said nothing of its own, so it names no status code)."""
    return type(exc) is ProviderError and exc.status_code is None


def idempotency(client_request_id: str) -> dict[str, str]:
    """The header that lets a provider (or the emulator) recognise a repeated submit."""
    return {"Idempotency-Key": client_request_id}


def present(**fields: Any) -> dict[str, Any]:
    """``fields`` without the ones left unset (None): a body's optional keys."""
    return {key: value for key, value in fields.items() if value is not None}
