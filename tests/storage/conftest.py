"""A local HTTP source (devstack.byteserver) and S3 clients of moto's server for storage tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from config.settings import Settings
from devstack import Service
from devstack.byteserver import ByteServer
from storage.archive import copy_url_to_s3
from storage.objects import StoredObject
from storage.s3 import s3_client

MIB = 1024 * 1024


@pytest.fixture(scope="session")
def byte_server() -> Iterator[ByteServer]:
    with ByteServer() as server:
        yield server


@pytest.fixture
def source(byte_server: ByteServer) -> ByteServer:
    """The byte server with its request log emptied."""
    byte_server.reset()
    return byte_server


@pytest.fixture
def s3_settings(s3_server: Service, s3_bucket: str) -> Settings:
    return Settings(s3_endpoint_url=s3_server.url, s3_bucket=s3_bucket)


@pytest.fixture
def s3(s3_settings: Settings) -> Any:
    return s3_client(s3_settings)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(10.0)) as client:
        yield client


def utcnow() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def archive(http: httpx.Client, s3: Any, s3_bucket: str) -> Callable[..., StoredObject]:
    """``copy_url_to_s3`` with the test's clients and bucket; keyword arguments override."""

    def run(url: str, **overrides: Any) -> StoredObject:
        arguments: dict[str, Any] = {
            "s3": s3,
            "bucket": s3_bucket,
            "key": "outputs/batch/item.mp4",
            "metadata": {"job-id": "j1", "batch": "batch", "provider": "runway"},
            "part_bytes": 5 * MIB,
            "deadline": None,
            "now": utcnow,
        }
        arguments.update(overrides)
        return copy_url_to_s3(http, url, **arguments)

    return run
