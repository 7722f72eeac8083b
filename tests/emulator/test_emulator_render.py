"""The emulator renders what the real models hand back: their length, rate, size, and no sound."""

from __future__ import annotations

import io
from pathlib import Path

import av
import pytest

from config.catalogue import ALEPH2, GEN4_ALEPH
from emulator.render import render_edit
from media.samples import describe_clip, frame_difference, make_av_clip


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """7 s of 320x180 at 30 fps with a stereo soundtrack."""
    path = tmp_path_factory.mktemp("render") / "long.mp4"
    return make_av_clip(path, seconds=7.0, width=320, height=180, fps=30).read_bytes()


def audio_streams(data: bytes) -> int:
    with av.open(io.BytesIO(data)) as container:
        return len(container.streams.audio)


def test_gen4_aleph_edits_only_the_first_five_seconds_at_24_fps_and_its_frame(
    long_clip: bytes,
) -> None:
    output = render_edit(long_clip, "make it winter", (16, 9), GEN4_ALEPH)
    info = describe_clip(output)
    assert (info.width, info.height) == (1280, 720)
    assert info.frames == 5 * 24
    assert audio_streams(output) == 0
    assert frame_difference(long_clip, output) > 30


def test_gen4_aleph_returns_a_shorter_input_at_its_own_length(tmp_path: Path) -> None:
    short = make_av_clip(tmp_path / "short.mp4", seconds=3.0, width=320, height=180, fps=24)
    info = describe_clip(render_edit(short.read_bytes(), "make it winter", None, GEN4_ALEPH))
    assert info.frames == 3 * 24


def test_aleph2_keeps_the_inputs_length_rate_and_size(long_clip: bytes) -> None:
    output = render_edit(long_clip, "make it winter", (9, 16), ALEPH2)
    info = describe_clip(output)
    assert (info.width, info.height, info.frames) == (320, 180, 7 * 30)
    assert audio_streams(output) == 0
