"""Session fixtures: a private Redis, moto's S3 server and the emulator, each on a free port.

Tests never touch a Redis they did not start. Fixtures that need worker processes build on
`stack` (see devstack.Stack) so that the processes are real and are always stopped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
import redis

from config.settings import ProviderName, Settings
from devstack import Service, Stack
from devstack.s3 import MOTO_CREDENTIALS
from devstack.stack import dev_key


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("services")


@pytest.fixture(scope="session")
def session_stack(session_dir: Path) -> Iterator[Stack]:
    stack = Stack(session_dir)
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def redis_server(session_stack: Stack) -> Service:
    return session_stack.start_redis()


@pytest.fixture
def redis_client(redis_server: Service) -> Iterator[redis.Redis]:
    """A client of the private Redis, emptied before each test."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    yield client
    client.close()


@pytest.fixture(scope="session")
def s3_server(session_stack: Stack, monkeypatch_session: pytest.MonkeyPatch) -> Service:
    for name, value in MOTO_CREDENTIALS.items():
        monkeypatch_session.setenv(name, value)
    return session_stack.start_s3()


@pytest.fixture(scope="session")
def monkeypatch_session() -> Iterator[pytest.MonkeyPatch]:
    patcher = pytest.MonkeyPatch()
    yield patcher
    patcher.undo()


@pytest.fixture(scope="session")
def emulator_server(session_stack: Stack) -> Service:
    """The provider emulator, started once in the `calm` preset."""
    return session_stack.start_emulator("--preset", "calm", "--processing-time", "0.3")


@pytest.fixture
def emulator(emulator_server: Service) -> Iterator[httpx.Client]:
    """An httpx client of the emulator, with its knobs and counters reset before each test."""
    with httpx.Client(base_url=emulator_server.url, timeout=30) as client:
        client.post("/_emulator/reset").raise_for_status()
        yield client


@pytest.fixture
def s3_bucket(s3_server: Service) -> str:
    """A fresh, empty bucket name on moto's server for each test."""
    client = boto3.client("s3", endpoint_url=s3_server.url, region_name="us-east-1")
    name = f"restyle-{len(client.list_buckets()['Buckets'])}"
    client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def settings(
    redis_server: Service, s3_server: Service, emulator_server: Service, s3_bucket: str
) -> Settings:
    """Settings pointing at the private services, with one dev key per provider."""
    providers: dict[str, Any] = {
        name.value: {"base_url": f"{emulator_server.url}/{name}", "api_keys": [dev_key(name)]}
        for name in ProviderName
    }
    return Settings(
        redis_url=redis_server.url,
        s3_endpoint_url=s3_server.url,
        s3_bucket=s3_bucket,
        allow_private_sources=True,
        **providers,
    )
