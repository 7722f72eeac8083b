"""The switchable TCP proxy the chaos run uses to take S3 down without losing moto's data."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import boto3
import pytest

from devstack import Service
from devstack.proxy import TcpProxy


@pytest.fixture
def proxy(s3_server: Service) -> Iterator[TcpProxy]:
    with TcpProxy(s3_server.port) as running:
        yield running


def _refused(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_requests_pass_through_the_proxy_to_the_service_behind(
    proxy: TcpProxy, s3_bucket: str
) -> None:
    client = boto3.client("s3", endpoint_url=proxy.url, region_name="us-east-1")
    client.put_object(Bucket=s3_bucket, Key="through.txt", Body=b"hello")

    assert client.get_object(Bucket=s3_bucket, Key="through.txt")["Body"].read() == b"hello"


def test_a_proxy_that_is_down_refuses_connections_and_comes_back_with_the_data(
    proxy: TcpProxy, s3_bucket: str
) -> None:
    client = boto3.client("s3", endpoint_url=proxy.url, region_name="us-east-1")
    client.put_object(Bucket=s3_bucket, Key="kept.txt", Body=b"kept")

    proxy.down()
    assert _refused(proxy.port)
    proxy.up()

    assert not _refused(proxy.port)
    assert client.get_object(Bucket=s3_bucket, Key="kept.txt")["Body"].read() == b"kept"
