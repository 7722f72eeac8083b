"""Fixtures for the adapter contract suite: one adapter per provider against the emulator."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from config.settings import ProviderName, Settings
from jobs.request import EditRequest
from media.samples import make_clip_bytes
from providers.adapter import ProviderAdapter
from providers.base import RemoteStatus
from providers.registry import get_adapter

FINISH_TIMEOUT_S = 20.0


@pytest.fixture(scope="session")
def clip_uri() -> str:
    """A tiny real MP4 as a data URI: the emulator fetches and edits it without a file server."""
    data = make_clip_bytes(seconds=0.5, width=96, height=64, fps=8)
    return "data:video/mp4;base64," + base64.b64encode(data).decode()


@pytest.fixture
def edit(clip_uri: str) -> EditRequest:
    return EditRequest(video_url=clip_uri, prompt="make it winter", aspect_ratio="16:9")


@pytest.fixture(params=list(ProviderName), ids=lambda name: name.value)
def provider(request: pytest.FixtureRequest) -> ProviderName:
    name: ProviderName = request.param
    return name


@pytest.fixture
def adapter(
    provider: ProviderName, settings: Settings, emulator: httpx.Client
) -> Iterator[ProviderAdapter]:
    """``provider``'s adapter on its own client, against a freshly reset emulator."""
    found = get_adapter(provider, settings)
    yield found
    found.close()


def configure(emulator: httpx.Client, patch: dict[str, Any], path: str = "config") -> None:
    """Apply an admin change to the emulator; fail loudly if it refuses it."""
    emulator.post(f"/_emulator/{path}", json=patch).raise_for_status()


def finish(adapter: ProviderAdapter, remote_id: str, **kwargs: Any) -> RemoteStatus:
    """Poll until the remote job reaches a terminal state."""
    deadline = time.monotonic() + FINISH_TIMEOUT_S
    while True:
        status = adapter.poll(remote_id, **kwargs)
        if status.state.terminal or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


def submit_requests(emulator: httpx.Client, provider: ProviderName) -> int:
    """How many submit requests the emulator answered for ``provider``, whatever the status."""
    stats = emulator.get("/_emulator/stats").json()
    endpoints = stats["requests"].get(provider.value, {})
    return sum(
        sum(counts.values())
        for endpoint, counts in endpoints.items()
        if endpoint.startswith("POST")
    )
