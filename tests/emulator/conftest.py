"""Fixtures for the emulator tests: clips, keys, knob helpers, a callback receiver, an HTTP source.

The session emulator (tests/conftest.py) runs ``--preset calm --processing-time 0.3`` and is
reset before every test by the ``emulator`` fixture.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from devstack import Service
from media.samples import make_clip_bytes
from tests.emulator.support import Receiver


@pytest.fixture(scope="session")
def clip() -> bytes:
    """One second of moving colour bars, 320x180, H.264."""
    return make_clip_bytes(seconds=1.0)


@pytest.fixture(scope="session")
def clip_uri(clip: bytes) -> str:
    return "data:video/mp4;base64," + base64.b64encode(clip).decode()


@pytest.fixture
def base(emulator: httpx.Client, emulator_server: Service) -> str:
    """The emulator's root URL, after the per-test reset."""
    return emulator_server.url


@pytest.fixture
def callback_receiver() -> Iterator[Receiver]:
    """A local HTTP server that records JSON POST bodies and answers 200."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver = Receiver(f"http://127.0.0.1:{server.server_address[1]}/callback")
    receiver.bodies = received
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def http_source(clip: bytes) -> Iterator[Callable[[bytes, int], str]]:
    """Serve bytes over plain HTTP on loopback: ``url = http_source(data, status)``."""
    files: dict[str, tuple[bytes, int]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            data, status = files.get(self.path, (b"", 404))
            self.send_response(status)
            if status in (301, 302, 307):
                self.send_header("location", "/clip-0.mp4")
            self.send_header("content-type", "video/mp4")
            self.send_header("content-length", str(len(data)))
            self.end_headers()

        def do_GET(self) -> None:
            self.do_HEAD()
            self.wfile.write(files.get(self.path, (b"", 404))[0])

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def publish(data: bytes, status: int = 200) -> str:
        path = f"/clip-{len(files)}.mp4"
        files[path] = (data, status)
        return f"http://127.0.0.1:{server.server_address[1]}{path}"

    yield publish
    server.shutdown()
    server.server_close()
