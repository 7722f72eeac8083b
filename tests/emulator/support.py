"""Helpers shared by the emulator tests: keys, knobs, stats, waiting."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from config.settings import ProviderName
from devstack.stack import dev_key
from emulator.config import key_id


def keys(provider: str, index: int = 0) -> str:
    return dev_key(ProviderName(provider), index)


def kid(provider: str, index: int = 0) -> str:
    return key_id(keys(provider, index))


def configure(client: httpx.Client, patch: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/_emulator/config", json=patch)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def stats(client: httpx.Client) -> dict[str, Any]:
    body: dict[str, Any] = client.get("/_emulator/stats").json()
    return body


def eventually(check: Callable[[], Any], timeout_s: float = 15.0) -> Any:
    """Call ``check`` until it returns something truthy; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout_s}s; last value {value!r}")
        time.sleep(0.05)


class Receiver:
    """What a small local HTTP server received."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.bodies: list[dict[str, Any]] = []
