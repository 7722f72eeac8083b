"""A corpus of bad batches, one case per preflight rule, each run through ``restyle submit``.

Every case checks the exit code, that the message names the file, the row and the field, and
that Redis holds nothing of the batch afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import boto3
import pytest
import redis

from devstack import Service, Stack
from devstack.byteserver import ByteServer
from devstack.stack import dev_key
from media.samples import make_clip

PNG = b"\x89PNG\r\n\x1a\n" + bytes(56)
GIF = b"GIF89a" + bytes(58)


@dataclass(frozen=True)
class Outcome:
    """What one ``restyle submit`` printed and left behind."""

    code: int
    text: str
    redis_keys: list[str] = field(default_factory=list)


@pytest.fixture
def corpus_env(session_stack: Stack, redis_server: Service, s3_server: Service) -> dict[str, str]:
    env = session_stack.env()
    for name in ("runway", "segmind", "aimlapi", "vibedream", "crun"):
        env[f"RESTYLE_{name.upper()}__API_KEYS"] = dev_key(name)
    env["RESTYLE_S3_BUCKET"] = "corpus"
    return env


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A clip, a fake clip and a reference image, side by side."""
    make_clip(tmp_path / "a.mp4", seconds=2.0, width=160, height=96)
    (tmp_path / "fake.mp4").write_text("not a video")
    (tmp_path / "ref.png").write_bytes(PNG)
    (tmp_path / "ref.gif").write_bytes(GIF)
    (tmp_path / "page.html").write_text("<html>a login page</html>")
    return tmp_path


def submit(
    env: dict[str, str], client: redis.Redis[bytes], batch: str, *args: str, **extra_env: str
) -> Outcome:
    """``restyle submit ... --batch batch``; then every Redis key that mentions the batch."""
    result = subprocess.run(
        [sys.executable, "-m", "cli", "submit", *args, "--batch", batch],
        env={**os.environ, **env, **extra_env, "COLUMNS": "300"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    keys = [key.decode() for key in client.scan_iter(count=1000)]
    left = [key for key in keys if batch in key or key.startswith("restyle:job:")]
    return Outcome(result.returncode, result.stdout + result.stderr, left)


def assert_named(outcome: Outcome, file: str, row: int, column: str, words: str) -> None:
    """One line of the output names the file, the row and the field, and says ``words``."""
    lines = [line for line in outcome.text.splitlines() if file in line and words in line]
    assert lines, outcome.text
    assert any(f"{row}" in line and f"{column}:" in line for line in lines), lines


def test_a_row_error_names_the_local_manifest(
    corpus_env: dict[str, str], redis_client: redis.Redis[bytes], folder: Path
) -> None:
    manifest = folder / "lib.csv"
    manifest.write_text("source,prompt\na.mp4,winter\nfake.mp4,winter\n")
    outcome = submit(corpus_env, redis_client, "corpus-file", str(manifest), "--provider", "runway")
    assert outcome.code == 1
    assert_named(outcome, f"{manifest}: row 3", 3, "source", "cannot read a video")
    assert outcome.redis_keys == []


def test_a_row_error_names_the_s3_manifest(
    corpus_env: dict[str, str], redis_client: redis.Redis[bytes], folder: Path, s3_server: Service
) -> None:
    s3 = boto3.client("s3", endpoint_url=s3_server.url, region_name="us-east-1")
    s3.create_bucket(Bucket="corpus-lib")
    for name in ("a.mp4", "fake.mp4"):
        s3.upload_file(str(folder / name), "corpus-lib", f"m/{name}")
    s3.put_object(Bucket="corpus-lib", Key="m/lib.csv", Body=b"source\na.mp4\nfake.mp4\n")
    uri = "s3://corpus-lib/m/lib.csv"
    outcome = submit(
        corpus_env, redis_client, "corpus-s3", uri, "--provider", "runway", "--prompt", "w"
    )
    assert outcome.code == 1
    assert_named(outcome, f"{uri}: row 3", 3, "source", "cannot read a video")
    assert outcome.redis_keys == []


def test_a_reference_image_that_is_not_one_or_not_accepted_is_refused(
    corpus_env: dict[str, str], redis_client: redis.Redis[bytes], folder: Path
) -> None:
    with ByteServer(folder) as images:
        manifest = folder / "refs.csv"
        manifest.write_text(
            "source,reference_image\n"
            f"a.mp4,{images.url}/files/ref.png?type=image/png\n"
            f"a.mp4,{images.url}/files/page.html?type=text/html\n"
            f"a.mp4,{images.url}/files/ref.gif?type=image/gif\n"
        )
        outcome = submit(
            corpus_env, redis_client, "corpus-ref", str(manifest), "--provider", "runway",
            "--prompt", "winter",
        )  # fmt: skip
        ranges = {byte_range for _, _, byte_range in images.served.requests}
    assert outcome.code == 1
    assert_named(outcome, str(manifest), 3, "reference_image", "not an image (text/html")
    assert_named(outcome, str(manifest), 4, "reference_image", "gif is not accepted by runway")
    assert "row 2" not in outcome.text
    assert ranges == {"bytes=0-63"}
    assert outcome.redis_keys == []


def test_a_prompt_with_a_control_character_is_refused_and_line_breaks_are_not(
    corpus_env: dict[str, str], redis_client: redis.Redis[bytes], folder: Path
) -> None:
    manifest = folder / "prompts.jsonl"
    rows = [
        {"source": "a.mp4", "key": "tabs", "prompt": "make it\twinter\r\nat night"},
        {"source": "a.mp4", "key": "nul", "prompt": "make it\x00winter"},
        {"source": "a.mp4", "key": "esc", "prompt": "make it \x1b[31mred"},
    ]
    manifest.write_text("".join(json.dumps(row) + "\n" for row in rows))
    outcome = submit(corpus_env, redis_client, "corpus-ctl", str(manifest), "--provider", "runway")
    assert outcome.code == 1
    assert_named(outcome, str(manifest), 2, "prompt", "control character U+0000 (NUL)")
    assert_named(outcome, str(manifest), 3, "prompt", "control character U+001B (ESC)")
    assert "row 1" not in outcome.text
    assert outcome.redis_keys == []


@pytest.mark.parametrize(
    ("header", "flags", "code", "column", "words"),
    [
        ("source,promt", (), 2, "promt", "did you mean 'prompt'?"),
        ("source,notes", ("--strict-columns",), 2, "notes", "unknown column 'notes'"),
    ],
    ids=["misspelt", "strict"],
)
def test_a_misspelt_column_or_any_unknown_one_under_strict_columns_is_refused(
    corpus_env: dict[str, str],
    redis_client: redis.Redis[bytes],
    folder: Path,
    header: str,
    flags: tuple[str, ...],
    code: int,
    column: str,
    words: str,
) -> None:
    manifest = folder / "cols.csv"
    manifest.write_text(f"{header}\na.mp4,x\n")
    outcome = submit(
        corpus_env, redis_client, "corpus-cols", str(manifest), "--provider", "runway",
        "--prompt", "winter", *flags,
    )  # fmt: skip
    assert outcome.code == code
    assert_named(outcome, f"{manifest}: row 1", 1, column, words)
    assert outcome.redis_keys == []


def test_an_asset_managers_own_columns_are_listed_and_ignored(
    corpus_env: dict[str, str], redis_client: redis.Redis[bytes], folder: Path
) -> None:
    manifest = folder / "export.csv"
    manifest.write_text("source,title,notes,duration\na.mp4,Intro,ok,1.0\n")
    outcome = submit(
        corpus_env, redis_client, "corpus-export", str(manifest), "--provider", "runway",
        "--prompt", "winter", "--dry-run",
    )  # fmt: skip
    assert outcome.code == 0, outcome.text
    assert f"{manifest}: ignored unknown column(s): duration, notes, title" in outcome.text
    assert outcome.redis_keys == []


class _Endpoint(BaseHTTPRequestHandler):
    """An "S3 endpoint" whose objects redirect to another port of the same host."""

    target = ""

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.send_header("Content-Type", "video/mp4")
        self.end_headers()

    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("Location", self.target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def redirecting_endpoint() -> Iterator[tuple[str, ByteServer]]:
    """The endpoint's URL, and the "internal" server on another port that it points at."""
    with ByteServer() as internal:
        handler = type("Endpoint", (_Endpoint,), {"target": f"{internal.url}/bytes/4096"})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        Thread(target=server.serve_forever, daemon=True).start()
        yield f"http://127.0.0.1:{server.server_address[1]}", internal
        server.shutdown()
        server.server_close()


def test_a_redirect_from_the_s3_endpoint_to_another_port_of_its_host_is_refused(
    corpus_env: dict[str, str],
    redis_client: redis.Redis[bytes],
    folder: Path,
    redirecting_endpoint: tuple[str, ByteServer],
) -> None:
    endpoint, internal = redirecting_endpoint
    manifest = folder / "s3.csv"
    manifest.write_text("source\ns3://media/clip.mp4\n")
    outcome = submit(
        corpus_env, redis_client, "corpus-endpoint", str(manifest), "--provider", "runway",
        "--prompt", "winter",
        RESTYLE_S3_ENDPOINT_URL=endpoint, RESTYLE_S3_CREATE_BUCKET="false",
        RESTYLE_ALLOW_PRIVATE_SOURCES="false",
    )  # fmt: skip
    assert outcome.code == 1
    assert_named(outcome, str(manifest), 2, "source", "http:// is refused")
    assert internal.served.requests == []
    assert outcome.redis_keys == []
