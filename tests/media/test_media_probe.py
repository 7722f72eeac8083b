"""probe() on local files, file objects, Range-capable and plain HTTP servers and moto's S3."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack import free_port
from devstack.byteserver import ByteServer
from media.probe import ProbeError, VideoInfo, probe

CLIP = VideoInfo(
    container="mp4",
    codec="h264",
    duration_s=2.0,
    width=320,
    height=180,
    size_bytes=0,
    fps=12.0,
    base_fps=12.0,
)


def expected_clip(clips: Path) -> VideoInfo:
    return CLIP.model_copy(update={"size_bytes": (clips / "clip.mp4").stat().st_size})


def test_probe_reads_a_local_file(clips: Path) -> None:
    assert probe(clips / "clip.mp4") == expected_clip(clips)
    assert probe(str(clips / "clip.mp4")) == expected_clip(clips)


def test_probe_reads_a_binary_file_object(clips: Path) -> None:
    assert probe(io.BytesIO((clips / "clip.mp4").read_bytes())) == expected_clip(clips)


def test_probe_reads_an_http_url(clips: Path, served: ByteServer) -> None:
    assert probe(f"{served.url}/files/clip.mp4") == expected_clip(clips)


def test_probe_over_http_reads_the_header_not_the_whole_file(
    clips: Path, served: ByteServer
) -> None:
    size = (clips / "big.mp4").stat().st_size
    info = probe(f"{served.url}/files/big.mp4")
    assert (info.width, info.height, info.size_bytes) == (640, 360, size)
    assert size > 2_000_000
    assert served.served.bytes_sent < size // 4
    assert all(byte_range for _, _, byte_range in served.served.requests)


def test_probe_reads_from_a_server_that_ignores_range(clips: Path, plain_server: str) -> None:
    assert probe(f"{plain_server}/clip.mp4") == expected_clip(clips)


def test_probe_reads_a_presigned_s3_url(clips: Path, presigned_clip: str) -> None:
    assert probe(presigned_clip) == expected_clip(clips)


@pytest.mark.parametrize(("name", "reason"), [("notes.txt", "not a video"), ("empty.mp4", "empty")])
def test_probe_refuses_files_that_are_not_video(clips: Path, name: str, reason: str) -> None:
    with pytest.raises(ProbeError, match=reason) as caught:
        probe(clips / name)
    assert not caught.value.temporary


@pytest.mark.parametrize(("name", "reason"), [("notes.txt", "not a video"), ("empty.mp4", "empty")])
def test_probe_refuses_urls_that_are_not_video(served: ByteServer, name: str, reason: str) -> None:
    with pytest.raises(ProbeError, match=reason):
        probe(f"{served.url}/files/{name}")


def test_probe_of_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ProbeError, match="no such file"):
        probe(tmp_path / "nothing.mp4")


def test_probe_of_an_s3_uri_asks_for_a_presigned_url() -> None:
    with pytest.raises(ProbeError, match="presign"):
        probe("s3://bucket/clip.mp4")


def test_probe_of_a_missing_url_is_permanent_and_hides_the_query(served: ByteServer) -> None:
    with pytest.raises(ProbeError, match="HTTP 404") as caught:
        probe(f"{served.url}/files/gone.mp4?X-Amz-Signature=topsecret")
    assert not caught.value.temporary
    assert "topsecret" not in str(caught.value)
    assert caught.value.source == f"{served.url}/files/gone.mp4"


def test_probe_of_a_failing_server_is_temporary(served: ByteServer) -> None:
    with pytest.raises(ProbeError, match="HTTP 503") as caught:
        probe(f"{served.url}/files/clip.mp4?status=503")
    assert caught.value.temporary


def test_probe_of_an_unreachable_url_is_temporary() -> None:
    with pytest.raises(ProbeError, match="unreachable") as caught:
        probe(f"http://127.0.0.1:{free_port()}/clip.mp4")
    assert caught.value.temporary


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_probe_gives_up_on_a_server_that_never_answers(silent_port: int) -> None:
    with pytest.raises(ProbeError, match="ReadTimeout") as caught:
        probe(f"http://127.0.0.1:{silent_port}/clip.mp4", timeout_s=0.5)
    assert caught.value.temporary
