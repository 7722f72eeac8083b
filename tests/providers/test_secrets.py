"""Grep test: the API key never shows in an exception or a log record of a failing call.

The provider here is hostile: it echoes the credential headers back in every error body. The
transport is httpx's own `MockTransport`, under a client built by `build_client`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import httpx
import pytest
from pydantic import SecretStr

from config.catalogue import CATALOGUE
from config.settings import ProviderName, Settings
from jobs.request import EditRequest
from providers.adapter import ProviderAdapter
from providers.base import Cancellable
from providers.errors import ProviderFailure
from providers.registry import build_client, get_adapter

SECRET = "sk-" + "5ecret" * 8
REQUEST = EditRequest(video_url="https://example.com/in.mp4", prompt="make it winter")


def echoing(status: int) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        echoed = f"{request.headers.get('authorization')} / {request.headers.get('x-api-key')}"
        body = {"error": f"bad key {echoed}", "message": echoed, "code": status}
        return httpx.Response(status, content=json.dumps(body).encode())

    return answer


def refusing(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError(f"cannot reach {request.headers.get('authorization')}")


def adapter_over(
    name: ProviderName, handler: Callable[[httpx.Request], httpx.Response]
) -> ProviderAdapter:
    settings = Settings()
    client = build_client(CATALOGUE[name], SecretStr(SECRET), settings)
    client._transport = httpx.MockTransport(handler)
    return get_adapter(name, settings, client=client)


def calls(adapter: ProviderAdapter, status: int = 0) -> list[Callable[[], object]]:
    """Every call of the adapter that can fail (a cancel of a gone task, 404, is a success)."""
    found: list[Callable[[], object]] = [
        lambda: adapter.submit(REQUEST, "job-1.1"),
        lambda: adapter.poll("remote-1"),
    ]
    if isinstance(adapter, Cancellable) and status != 404:
        found.append(lambda: adapter.cancel("remote-1"))
    return found


@pytest.mark.parametrize("name", list(ProviderName))
@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 422, 429, 455, 500, 503, 505])
def test_the_key_never_appears_in_errors_or_logs(
    name: ProviderName, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    adapter = adapter_over(name, echoing(status))
    for call in calls(adapter, status):
        with pytest.raises(ProviderFailure) as caught:
            call()
        assert_clean(caught.value)
        assert "[redacted]" in caught.value.message
    assert caplog.records
    for record in caplog.records:
        assert SECRET not in record.getMessage()


@pytest.mark.parametrize("name", list(ProviderName))
def test_the_key_never_appears_in_transport_errors(name: ProviderName) -> None:
    adapter = adapter_over(name, refusing)
    for call in calls(adapter):
        with pytest.raises(ProviderFailure) as caught:
            call()
        assert_clean(caught.value)


def assert_clean(error: BaseException) -> None:
    texts = [str(error), repr(error), *map(str, error.args)]
    assert all(SECRET not in text for text in texts), texts
