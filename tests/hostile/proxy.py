"""A hostile provider: the emulator behind a proxy that rewrites its answers.

`HostileProxy` forwards every request to the emulator (with the proxy's own Host, so the
emulator's output URLs name the proxy) and passes each answer through `rewrite`, which a test
sets to turn an honest answer into a hostile one. It also serves two paths of its own, at the
trusted origin (the configured base URL): ``/_hostile/hop1`` (a 302 chain whose last hop is
`InternalServer`) and ``/_hostile/creds`` (JSON credentials served as ``video/mp4``).
`InternalServer` plays the instance metadata service and counts who reached it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

FAKE_CREDENTIALS = json.dumps(
    {"Code": "Success", "AccessKeyId": "ASIAFAKEFAKEFAKE", "SecretAccessKey": "fake/secret",
     "Token": "fake-session-token", "Expiration": "2030-01-01T00:00:00Z"}
).encode()  # fmt: skip
METADATA_PATH = "/latest/meta-data/iam/security-credentials/restyle-role"


class _Server:
    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.owner = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Internal(_Quiet):
    def do_GET(self) -> None:
        owner: InternalServer = self.server.owner  # type: ignore[attr-defined]
        owner.hits.append(self.path)
        self.answer(200, FAKE_CREDENTIALS, {"Content-Type": "video/mp4"})


class InternalServer(_Server):
    """An internal service (the cloud's metadata endpoint) on another loopback port."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        super().__init__(_Internal)

    @property
    def metadata_url(self) -> str:
        return self.origin + METADATA_PATH


Rewrite = Callable[[str, str], str]
"""(request path, answer text) -> the answer the workers get."""


class _Forward(_Quiet):
    def _forward(self) -> None:
        owner: HostileProxy = self.server.owner  # type: ignore[attr-defined]
        if self.path.startswith("/_hostile/"):
            self._own(owner)
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k: v for k, v in self.headers.items() if k.lower() != "content-length"}
        answer = owner.http.request(self.command, owner.upstream + self.path, content=body,
                                    headers=headers)  # fmt: skip
        content = answer.content
        if answer.headers.get("content-type", "").startswith("application/json"):
            content = owner.rewrite(self.path, content.decode()).encode()
        kept = {k: v for k, v in answer.headers.items()
                if k.lower() not in ("content-length", "transfer-encoding", "connection",
                                     "content-encoding")}  # fmt: skip
        self.answer(answer.status_code, content, kept)

    def _own(self, owner: HostileProxy) -> None:
        if self.path.startswith("/_hostile/hop1"):
            self.answer(302, b"", {"Location": "/_hostile/hop2"})
        elif self.path.startswith("/_hostile/hop2"):
            self.answer(302, b"", {"Location": owner.internal.metadata_url})
        else:
            self.answer(200, FAKE_CREDENTIALS, {"Content-Type": "video/mp4"})

    def do_GET(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()

    def do_DELETE(self) -> None:
        self._forward()


class HostileProxy(_Server):
    """``127.0.0.1:port`` -> the emulator, answers passed through `rewrite`."""

    def __init__(self, upstream: str, internal: InternalServer) -> None:
        self.upstream = upstream
        self.internal = internal
        self.rewrite: Rewrite = lambda path, text: text
        self.http = httpx.Client(timeout=30)
        super().__init__(_Forward)

    def stop(self) -> None:
        super().stop()
        self.http.close()
