"""The guarded client: which hops it refuses, and that it connects to the address it checked."""

from __future__ import annotations

import ipaddress
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from wire.guarded import (
    GuardedTransport,
    HopPolicy,
    IPAddress,
    UnsafeURL,
    check_hop,
    guarded_client,
)

PUBLIC = ipaddress.ip_address("93.184.216.34")
METADATA = ipaddress.ip_address("169.254.169.254")


def resolver(answers: dict[str, list[IPAddress]]) -> Callable[[str], list[IPAddress]]:
    return lambda host: answers[host]


STRICT = HopPolicy.of(False, ["http://127.0.0.1:8900/crun", "https://s3.example.com"])


@pytest.mark.parametrize(
    ("url", "refusal"),
    [
        ("http://cdn.example/out.mp4", "plain http:// is refused"),
        ("file:///etc/passwd", "file:// URLs are not fetched"),
        ("gopher://cdn.example/x", "gopher:// URLs are not fetched"),
        ("https://169.254.169.254/latest/meta-data/", "169.254.169.254 resolves to a non-public"),
        ("https://[::ffff:127.0.0.1]/x", "::ffff:127.0.0.1 resolves to a non-public"),
        ("https://internal.example/x", "internal.example resolves to a non-public"),
        # Another port of a trusted host is not trusted (an internal service beside it).
        ("http://127.0.0.1:6379/", "plain http:// is refused"),
        ("https://s3.example.com:8443/b/k", "s3.example.com:8443 resolves to a non-public"),
    ],
)
def test_refused_hops_name_the_host(url: str, refusal: str) -> None:
    resolve = resolver({"cdn.example": [PUBLIC], "internal.example": [PUBLIC, METADATA],
                        "s3.example.com": [ipaddress.ip_address("10.0.0.5")]})  # fmt: skip
    with pytest.raises(UnsafeURL, match=re.escape(refusal)):
        check_hop(url, STRICT, resolve)


def test_public_https_is_pinned_and_trusted_origins_connect_as_usual() -> None:
    resolve = resolver({"cdn.example": [PUBLIC], "s3.example.com": [METADATA]})
    assert check_hop("https://cdn.example/o.mp4?sig=1", STRICT, resolve) == [PUBLIC]
    assert check_hop("http://127.0.0.1:8900/crun/outputs/x.mp4", STRICT, resolve) is None
    assert check_hop("https://s3.example.com/bucket/key", STRICT, resolve) is None
    allowed = HopPolicy.of(True)
    assert check_hop("http://10.1.2.3:9000/x", allowed, resolve) is None


def test_the_transport_connects_to_the_checked_address_resolving_once() -> None:
    """A rebinding resolver (public first, internal after) cannot move the connection: the
    request that reaches the wire names the address checked, and keeps the name for Host/SNI."""
    seen: list[httpx.Request] = []
    answers = iter([[PUBLIC], [METADATA]])
    calls: list[str] = []

    def rebinding(host: str) -> list[IPAddress]:
        calls.append(host)
        return next(answers)

    def wire(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"ok")

    transport = GuardedTransport(HopPolicy(), rebinding, inner=httpx.MockTransport(wire))
    with httpx.Client(transport=transport, trust_env=False) as client:
        assert client.get("https://cdn.example/o.mp4").status_code == 200
    assert calls == ["cdn.example"]
    (sent,) = seen
    assert sent.url.host == str(PUBLIC) and sent.headers["host"] == "cdn.example"
    assert sent.extensions["sni_hostname"] == "cdn.example"


def test_the_next_checked_address_is_tried_when_one_refuses_to_connect() -> None:
    v6, v4 = ipaddress.ip_address("2606:4700::1111"), ipaddress.ip_address("1.1.1.1")
    tried: list[str] = []

    def wire(request: httpx.Request) -> httpx.Response:
        tried.append(request.url.host)
        if request.url.host == str(v6):
            raise httpx.ConnectError("no route to host", request=request)
        return httpx.Response(200, content=b"ok")

    transport = GuardedTransport(HopPolicy(), lambda host: [v6, v4], httpx.MockTransport(wire))
    with httpx.Client(transport=transport, trust_env=False) as client:
        assert client.get("https://cdn.example/o.mp4").status_code == 200
    assert tried == [str(v6), str(v4)]


class _Redirecting(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("Location", self.target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def redirector() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirecting)
    _Redirecting.target = "http://127.0.0.1:1/latest/meta-data/iam/security-credentials/"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_a_redirect_from_a_trusted_origin_to_an_internal_one_is_refused_before_connecting(
    redirector: str,
) -> None:
    with (
        guarded_client(HopPolicy.of(False, [redirector])) as client,
        pytest.raises(UnsafeURL, match=r"127\.0\.0\.1:1: plain http"),
    ):
        client.get(f"{redirector}/out.mp4")
