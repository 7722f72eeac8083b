"""An edited clip keeps what an editor relinks by: the stitch of a tagged source (colour
description, pixel aspect, rotation, start timecode, creation time) carries them all, at the
source's size, rate and frame count, whatever size and rate the render came back at."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from config.catalogue import CATALOGUE
from config.settings import ProviderName
from emulator.render import render_edit
from media.conform import RATIO_FRAMES
from media.cutting import cut_segments
from media.probe import probe
from media.stitching import stitch_segments
from producer.clip_plan import ratio_to_send, segment_plan, segment_target

BT709, TV_RANGE = 1, 1
CREATED = "2024-05-01T10:20:30.000000Z"


def tagged_source(path: Path, rate: Fraction, frames: int) -> Path:
    with av.open(str(path), "w", format="mp4") as output:
        output.metadata["creation_time"] = CREATED
        stream = output.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = 176, 144, "yuv420p"
        context = stream.codec_context
        context.color_primaries = context.color_trc = context.colorspace = BT709
        context.color_range = TV_RANGE
        context.sample_aspect_ratio = Fraction(12, 11)  # 176x144 shown as 4:3
        stream.metadata["timecode"] = "01:00:00:00"
        stream.set_display_rotation(90)
        for index in range(frames):
            shade = np.full((144, 176, 3), (index * 7) % 256, np.uint8)
            shade[40:60, 30:50] = 255
            frame = av.VideoFrame.from_ndarray(shade, format="rgb24").reformat(format="yuv420p")
            frame.pts = index
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return path


@pytest.mark.slow
def test_the_stitched_edit_keeps_the_sources_tags_shape_rate_and_frames(tmp_path: Path) -> None:
    rate = Fraction(30000, 1001)
    source = tagged_source(tmp_path / "tagged.mp4", rate, 90)
    spec = CATALOGUE[ProviderName.AIMLAPI]
    info = probe(source)
    assert info.pixel_aspect == pytest.approx(12 / 11)
    plan = segment_plan(info, spec, None)
    ratio = ratio_to_send(info, spec, None)
    assert ratio == "4:3"  # by the shape on screen, not the samples' 11:9
    target = segment_target(info, spec, plan, ratio)
    (cut,) = cut_segments(source, plan, target, tmp_path / "segments")
    render = tmp_path / "render.mp4"
    frame = RATIO_FRAMES[ratio]
    render.write_bytes(render_edit(cut.path.read_bytes(), "winter", (4, 3), spec.window))
    with av.open(str(render), mode="r") as opened:  # the model's own frame and rate
        stream = opened.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == frame
        assert stream.average_rate == 24

    result = stitch_segments([render], plan, source, tmp_path / "out.mp4",
                             placement=target.placement)  # fmt: skip

    with av.open(str(result.path), mode="r") as opened:
        stream = opened.streams.video[0]
        context = stream.codec_context
        assert (context.width, context.height, stream.average_rate) == (176, 144, rate)
        assert (context.color_primaries, context.color_trc, context.colorspace) == (BT709,) * 3
        assert context.color_range == TV_RANGE
        assert context.sample_aspect_ratio == Fraction(12, 11)
        assert opened.metadata["creation_time"] == CREATED
        assert stream.metadata["timecode"] == "01:00:00:00"
        frames = list(opened.decode(stream))
        assert len(frames) == 90
        assert frames[0].rotation == 90
