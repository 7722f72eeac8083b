"""Sample clips on disk, served over HTTP (with and without Range support) and from moto's S3."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest

from devstack import Service
from devstack.byteserver import ByteServer
from media.samples import make_av_clip, make_clip


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with clip.mp4 (2 s bars), big.mp4 (noise, a few MB), notes.txt, empty.mp4."""
    folder = tmp_path_factory.mktemp("clips")
    make_clip(folder / "clip.mp4", seconds=2.0, width=320, height=180, fps=12)
    make_clip(folder / "big.mp4", seconds=6.0, width=640, height=360, fps=12, pattern="noise")
    (folder / "notes.txt").write_text("this is not a video\n" * 100)
    (folder / "empty.mp4").write_bytes(b"")
    return folder


@pytest.fixture(scope="session")
def range_server(clips: Path) -> Iterator[ByteServer]:
    """Serves the clips at /files/<name>, honouring Range."""
    with ByteServer(clips) as server:
        yield server


@pytest.fixture
def served(range_server: ByteServer) -> ByteServer:
    range_server.reset()
    return range_server


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def plain_server(clips: Path) -> Iterator[str]:
    """Python's own file server, which ignores Range; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(clips))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def presigned_clip(s3_server: Service, s3_bucket: str, clips: Path) -> str:
    """A presigned GET URL of clip.mp4 uploaded to moto's S3."""
    client = boto3.client("s3", endpoint_url=s3_server.url, region_name="us-east-1")
    client.upload_file(str(clips / "clip.mp4"), s3_bucket, "sources/clip.mp4")
    url: str = client.generate_presigned_url(
        "get_object", Params={"Bucket": s3_bucket, "Key": "sources/clip.mp4"}, ExpiresIn=600
    )
    return url


@pytest.fixture(scope="session")
def stereo_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """17 s of 640x360 at 24 fps, stereo AAC, a hard cut every 4 s."""
    folder = tmp_path_factory.mktemp("stereo")
    return make_av_clip(folder / "stereo.mp4", 17.0, 640, 360, 24, scene_every_s=4.0)
