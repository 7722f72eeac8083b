"""Real clips on disk and in moto's S3, and settings that need no emulator."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import av
import pytest

from config.settings import ProviderName, Settings
from devstack import Service
from devstack.stack import dev_key
from media.samples import make_clip, make_clip_bytes
from storage.s3 import s3_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

CLIP_SECONDS = 2.5  # Runway aleph2 takes 2-30 s


def matroska_bytes(mp4: bytes) -> bytes:
    """The same H.264 stream remuxed into Matroska (a container the providers refuse)."""
    out = io.BytesIO()
    with (
        av.open(io.BytesIO(mp4), mode="r") as source,
        av.open(out, mode="w", format="matroska") as sink,
    ):
        stream = source.streams.video[0]
        target = sink.add_stream_from_template(stream)
        for packet in source.demux(stream):
            if packet.dts is None:
                continue
            packet.stream = target
            sink.mux(packet)
    return out.getvalue()


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of small sources: two clips, a nested one, an mkv and a fake video."""
    root = tmp_path_factory.mktemp("clips")
    make_clip(root / "alpha.mp4", seconds=CLIP_SECONDS, width=160, height=96)
    make_clip(root / "beta.mp4", seconds=CLIP_SECONDS, width=160, height=96, pattern="gradient")
    (root / "nested").mkdir()
    make_clip(root / "nested" / "gamma.mov", seconds=CLIP_SECONDS, width=160, height=96)
    (root / "wide.mkv").write_bytes(matroska_bytes(make_clip_bytes(CLIP_SECONDS, 160, 96)))
    (root / "notes.txt").write_text("not a video")
    (root / "fake.mp4").write_text("this is not a video either")
    return root


def provider_keys(*names: ProviderName) -> dict[str, dict[str, list[str]]]:
    return {name.value: {"api_keys": [dev_key(name)]} for name in names}


@pytest.fixture
def producer_settings(redis_server: Service, s3_server: Service, s3_bucket: str) -> Settings:
    """Settings for the private Redis and S3; every provider but crun has a key."""
    configured = [name for name in ProviderName if name is not ProviderName.CRUN]
    return Settings(
        redis_url=redis_server.url,
        s3_endpoint_url=s3_server.url,
        s3_bucket=s3_bucket,
        allow_private_sources=True,
        **provider_keys(*configured),  # type: ignore[arg-type]
    )


@pytest.fixture
def s3(producer_settings: Settings) -> S3Client:
    return s3_client(producer_settings)


@pytest.fixture
def library(s3: S3Client, s3_bucket: str, clips: Path) -> str:
    """``s3://bucket/library/`` holding the clips (one nested) and a text file."""
    for path in ("alpha.mp4", "beta.mp4", "nested/gamma.mov", "notes.txt", "fake.mp4"):
        s3.upload_file(str(clips / path), s3_bucket, f"library/{path}")
    return f"s3://{s3_bucket}/library/"
