"""Grep test: no API key shows in an exception, a remote job's message or a log record.

The provider here is hostile: it echoes the credential headers back in every error body, and
other keys too (another provider's, a retired one, a stranger's bearer token). The transport
is httpx's own `MockTransport`, under a client built by `build_client`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import httpx
import pytest
from pydantic import SecretStr

from config.catalogue import CATALOGUE
from config.redaction import REDACTED, key_label
from config.settings import ProviderName, Settings
from devstack.stack import dev_key
from jobs.request import EditRequest
from providers.adapter import ProviderAdapter
from providers.base import Cancellable, RemoteState
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
    name: ProviderName,
    handler: Callable[[httpx.Request], httpx.Response],
    settings: Settings | None = None,
) -> ProviderAdapter:
    settings = settings or Settings()
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
        assert key_label(SECRET) in caught.value.message
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


OTHER_KEYS = {name: (dev_key(name), dev_key(name, 9)) for name in ProviderName}
"""Each provider's current and retired key, configured in `KEYED`."""
KEYED = Settings.model_validate(
    {
        name.value: {"api_keys": [current], "retired_api_keys": [retired]}
        for name, (current, retired) in OTHER_KEYS.items()
    }
)
STRANGER = "zq8" * 10
"""A token of nobody configured here: caught by its bearer shape."""


def chatty(status: int) -> Callable[[httpx.Request], httpx.Response]:
    """Echoes a stranger's bearer token and every configured key, current and retired.

    Runway's long keys come last, so the provider's message is clipped in the middle of one.
    """
    every_key = " ".join(key for pair in reversed(OTHER_KEYS.values()) for key in pair)

    def answer(request: httpx.Request) -> httpx.Response:
        text = f"saw Authorization: Bearer {STRANGER}; keys in use: {every_key}"
        body = {"error": text, "message": text, "code": status}
        return httpx.Response(status, content=json.dumps(body).encode())

    return answer


@pytest.mark.parametrize("name", list(ProviderName))
def test_every_configured_key_and_any_bearer_token_are_scrubbed_from_errors(
    name: ProviderName,
) -> None:
    adapter = adapter_over(name, chatty(400), KEYED)
    for call in calls(adapter):
        with pytest.raises(ProviderFailure) as caught:
            call()
        texts = [str(caught.value), caught.value.message, *map(str, caught.value.args)]
        for text in texts:
            leaked = [key for pair in OTHER_KEYS.values() for key in pair if key[:12] in text]
            assert leaked == [] and STRANGER not in text, text
        assert key_label(dev_key(ProviderName.CRUN, 9)) in caught.value.message
        assert f"Bearer {REDACTED}" in caught.value.message


def failed_task(request: httpx.Request) -> httpx.Response:
    """Runway's answer for a task that FAILED, its reason quoting the caller's credential."""
    reason = f"The generation failed for {request.headers.get('authorization')}"
    body = {"id": "remote-1", "status": "FAILED", "failure": reason, "failureCode": "INTERNAL"}
    return httpx.Response(200, content=json.dumps(body).encode())


def test_a_failed_remote_jobs_message_is_scrubbed_before_restyle_keeps_it() -> None:
    adapter = adapter_over(ProviderName.RUNWAY, failed_task, KEYED)
    status = adapter.poll("remote-1")
    assert status.state is RemoteState.FAILED and status.message is not None
    assert SECRET not in status.message
    assert status.message == f"The generation failed for Bearer {key_label(SECRET)}"
