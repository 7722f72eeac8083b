"""frame_png() gives a decodable PNG of the right frame and size, from files and URLs."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest

from devstack.byteserver import ByteServer
from media.frames import frame_png
from media.probe import ProbeError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def decode_png(data: bytes) -> np.ndarray:
    with av.open(io.BytesIO(data), mode="r") as container:
        frame = next(container.decode(video=0))
        return frame.to_ndarray(format="rgb24")


def test_frame_png_is_a_png_scaled_to_max_width(clips: Path) -> None:
    data = frame_png(clips / "clip.mp4", at_s=1.0, max_width=160)
    assert data.startswith(PNG_SIGNATURE)
    assert decode_png(data).shape == (90, 160, 3)


def test_frame_png_keeps_frames_narrower_than_max_width(clips: Path) -> None:
    assert decode_png(frame_png(clips / "clip.mp4", max_width=1000)).shape == (180, 320, 3)


def test_frames_at_different_times_differ(clips: Path) -> None:
    first = decode_png(frame_png(clips / "clip.mp4", at_s=0.0)).astype(int)
    later = decode_png(frame_png(clips / "clip.mp4", at_s=1.5)).astype(int)
    assert np.abs(first - later).mean() > 5


def test_time_past_the_end_gives_the_last_frame(clips: Path) -> None:
    last = frame_png(clips / "clip.mp4", at_s=60.0)
    assert decode_png(last).shape == (180, 320, 3)
    assert last == frame_png(clips / "clip.mp4", at_s=1.99)


def test_frame_png_reads_a_url_with_range_requests(clips: Path, served: ByteServer) -> None:
    remote = frame_png(f"{served.url}/files/big.mp4", at_s=1.0, max_width=320)
    assert remote == frame_png(clips / "big.mp4", at_s=1.0, max_width=320)
    assert served.served.bytes_sent < (clips / "big.mp4").stat().st_size


def test_frame_png_of_a_presigned_s3_url(presigned_clip: str) -> None:
    assert decode_png(frame_png(presigned_clip, max_width=160)).shape == (90, 160, 3)


def test_frame_png_of_a_non_video_raises_probe_error(clips: Path) -> None:
    with pytest.raises(ProbeError, match="not a video"):
        frame_png(clips / "notes.txt")
