"""The one place adapters touch httpx: send a request, translate transport errors, redact keys.

Nothing here retries: a failed call raises the taxonomy and the task layer decides. Providers
may echo the credential they were sent (``invalid key: sk-...``), so every provider text that
leaves the transport (an error's message, a failed remote job's message) passes the
`config.redaction.Redactor` first: the client's own credentials, every configured key, and
anything secret-shaped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import httpx

from config.redaction import Redactor
from providers.base import RemoteStatus
from providers.errors import (
    AnswerLost,
    NotSent,
    ProviderError,
    ProviderFailure,
    ProviderUnavailable,
)

log = logging.getLogger(__name__)

SECRET_HEADERS = ("authorization", "x-api-key")
Result = TypeVar("Result")

ANSWER_LOST_ERRORS = (
    httpx.ReadTimeout,
    httpx.ReadError,
    httpx.RemoteProtocolError,
)
"""The request was (or may have been) sent and no whole answer came back."""

NOT_SENT_ERRORS = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
"""No connection was made: the request never left, so it created nothing."""

UNAVAILABLE_ERRORS = (
    httpx.TimeoutException,
    httpx.NetworkError,
)
"""No answer: the provider may be fine a moment later."""


@dataclass(frozen=True)
class WireResponse:
    """What came back: status, headers and the raw body, for the pure parsers."""

    status: int
    headers: httpx.Headers
    content: bytes

    def parts(self) -> tuple[int, httpx.Headers, bytes]:
        """``(status, headers, content)``: the arguments of every ``parse_*`` function."""
        return self.status, self.headers, self.content


def secrets_of(client: httpx.Client) -> tuple[str, ...]:
    """The credentials ``client`` sends: a header's value, or a Bearer header's token."""
    found: list[str] = []
    for name in SECRET_HEADERS:
        value = client.headers.get(name)
        if not value:
            continue
        scheme, _, token = value.partition(" ")
        found.append(token.strip() if token and scheme.lower() == "bearer" else value)
    return tuple(sorted((item for item in found if len(item) >= 6), key=len, reverse=True))


class Transport:
    """Sends one request for one provider; raises only the taxonomy, never with a key in it."""

    def __init__(
        self, provider: str, client: httpx.Client, redactor: Redactor | None = None
    ) -> None:
        self.provider = provider
        self.client = client
        self.scrub = (redactor or Redactor()).with_secrets(secrets_of(client))

    def __repr__(self) -> str:
        return f"Transport(provider={self.provider!r}, base_url={str(self.client.base_url)!r})"

    def send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        read_timeout_s: float | None = None,
    ) -> WireResponse:
        """One HTTP exchange. Timeouts and broken connections raise `ProviderUnavailable`:
        `NotSent` when no connection was made, `AnswerLost` when the request went out and its
        answer did not come back whole.

        ``read_timeout_s`` replaces the client's read timeout for this request.
        """
        timeout = self.client.timeout
        if read_timeout_s is not None:
            timeout = httpx.Timeout(
                connect=timeout.connect, read=read_timeout_s, write=timeout.write, pool=timeout.pool
            )
        try:
            response = self.client.request(
                method, path, json=json, params=params, headers=headers, timeout=timeout
            )
        except ANSWER_LOST_ERRORS as exc:
            raise AnswerLost(self.provider, self._describe(exc)) from exc
        except NOT_SENT_ERRORS as exc:
            raise NotSent(self.provider, self._describe(exc)) from exc
        except UNAVAILABLE_ERRORS as exc:
            raise ProviderUnavailable(self.provider, self._describe(exc)) from exc
        except httpx.HTTPError as exc:
            raise ProviderError(self.provider, self._describe(exc)) from exc
        log.debug("provider=%s %s %s -> %s", self.provider, method, path, response.status_code)
        return WireResponse(response.status_code, response.headers, response.content)

    def _describe(self, exc: httpx.HTTPError) -> str:
        return self.scrub(f"{type(exc).__name__}: {exc}".rstrip(": "))

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Scrub the key out of any taxonomy error raised inside (providers may echo it)."""
        try:
            yield
        except ProviderFailure as exc:
            exc.message = self.scrub(exc.message)
            exc.args = tuple(self.scrub(arg) if isinstance(arg, str) else arg for arg in exc.args)
            raise

    def clean(self, result: Result) -> Result:
        """``result`` with the provider's own words scrubbed (a failed remote job's message)."""
        if isinstance(result, RemoteStatus) and result.message:
            return replace(result, message=self.scrub(result.message))
        return result
