"""Which outputs the archive takes for videos: real containers with a video track, nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from media.samples import make_clip_bytes
from storage.containers import video_problem
from storage.content import sniff_video


def encoded(path: Path, codec: str) -> Path:
    """A few frames of a blank picture in ``codec``, in the container of ``path``'s suffix."""
    with av.open(str(path), "w") as container:
        stream: Any = container.add_stream(codec, rate=12)  # the codec is a parameter
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        picture = np.zeros((48, 64, 3), dtype=np.uint8)
        for _ in range(4):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        container.mux(stream.encode(None))
    return path


def sound_only(path: Path) -> Path:
    """An MP4 holding one AAC frame and no picture."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=44100)
        silence = np.zeros((1, 1024), dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(silence, format="fltp", layout="mono")
        frame.sample_rate = 44100
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def test_real_videos_pass_and_are_typed_by_their_first_bytes(tmp_path: Path) -> None:
    mp4 = tmp_path / "out.mp4"
    mp4.write_bytes(make_clip_bytes(seconds=0.5))
    webm = encoded(tmp_path / "out.webm", "libvpx-vp9")
    mkv = encoded(tmp_path / "out.mkv", "mpeg4")
    assert [video_problem(path) for path in (mp4, webm, mkv)] == [None, None, None]
    types = [sniff_video(path.read_bytes()[:64]) for path in (mp4, webm, mkv)]
    assert types == ["video/mp4", "video/webm", "video/x-matroska"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"AccessKeyId": "ASIA", "SecretAccessKey": "x"}', "does not fit the file"),
        (b"\0\0\0\x10ftypisom\0\0\0\0" + b"<html>" * 10, "does not fit the file"),
        (b"\0\0\0\x10ftypisom\0\0\0\0\0\0\0\x08free", "no MP4 or QuickTime movie header"),
        (b"\x1a\x45\xdf\xa3\x84\x42\x82\x81x", "no Matroska header and segment"),
    ],
)
def test_other_bytes_are_refused_with_a_reason(tmp_path: Path, body: bytes, problem: str) -> None:
    path = tmp_path / "out.mp4"
    path.write_bytes(body)
    assert problem in (video_problem(path) or "")


def test_a_cut_video_and_a_video_without_a_picture_are_refused(tmp_path: Path) -> None:
    whole = make_clip_bytes(seconds=0.5)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[: len(whole) // 2])
    audio = sound_only(tmp_path / "audio.mp4")
    assert "does not fit the file" in (video_problem(cut) or "")
    assert video_problem(audio) == "no video track"
    assert sniff_video(b'{"Code": "Success"}') is None
