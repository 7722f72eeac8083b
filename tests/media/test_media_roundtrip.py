"""Cut, edit (the emulator's renderer), stitch: the clip keeps its length, rate, size and sound."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from config.catalogue import GEN4_ALEPH, EditWindow
from emulator.render import render_edit
from media.cutting import CutSegment, cut_segments
from media.frames import frame_at
from media.normalise import encode_target, plan_rate
from media.plan import SegmentPlan, plan_segments
from media.probe import probe
from media.samples import describe_clip, make_av_clip
from media.scenes import find_cuts
from media.stitching import StitchResult, stitch_segments

pytestmark = pytest.mark.slow


def audio_seconds(path: Path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        last = 0.0
        assert stream.time_base is not None
        for packet in container.demux(stream):
            if packet.pts is not None and packet.duration:
                last = max(last, float((packet.pts + packet.duration) * stream.time_base))
        return last


def edit_all(cuts: list[CutSegment], folder: Path, window: EditWindow) -> list[Path]:
    """What a provider serving ``window``'s model hands back for each segment."""
    outputs = []
    for cut in cuts:
        path = folder / f"edited-{cut.index:03d}.mp4"
        path.write_bytes(render_edit(cut.path.read_bytes(), "make it winter", (16, 9), window))
        outputs.append(path)
    return outputs


def round_trip(
    source: Path, folder: Path, window: EditWindow = GEN4_ALEPH, **stitch: str
) -> tuple[SegmentPlan, StitchResult]:
    info = probe(source)
    plan = plan_segments(info.duration_s, float(plan_rate(info)), window, find_cuts(source))
    cuts = cut_segments(source, plan, encode_target(info, window), folder / "cut")
    outputs = edit_all(cuts, folder, GEN4_ALEPH)
    return plan, stitch_segments(outputs, plan, source, folder / "out.mp4", **stitch)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def stitched(
    stereo_clip: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[SegmentPlan, StitchResult]:
    return round_trip(stereo_clip, tmp_path_factory.mktemp("roundtrip"))


def test_a_17_s_stereo_clip_is_four_segments_with_seams_on_its_cuts(
    stitched: tuple[SegmentPlan, StitchResult],
) -> None:
    plan, _ = stitched
    assert len(plan.segments) == 4
    assert plan.segments[0].end == 4 * 24 and plan.segments[2].end == 12 * 24
    assert plan.billed_seconds == pytest.approx(17.0)


def test_the_stitched_clip_keeps_length_rate_size_and_sound(
    stereo_clip: Path, stitched: tuple[SegmentPlan, StitchResult]
) -> None:
    _, result = stitched
    info = probe(result.path)
    assert abs(info.duration_s - 17.0) <= 1 / 24
    assert (info.width, info.height, info.fps) == (640, 360, 24.0)
    assert describe_clip(result.path.read_bytes()).frames == 17 * 24
    assert result.audio == "copy"
    assert abs(audio_seconds(result.path) - 17.0) <= 0.050
    assert result.mismatches == ()


def test_every_part_of_the_stitched_clip_shows_the_edit(
    stereo_clip: Path, stitched: tuple[SegmentPlan, StitchResult]
) -> None:
    _, result = stitched
    for at in range(0, 17, 2):
        difference = np.abs(thumbnail(stereo_clip, at) - thumbnail(result.path, at)).mean()
        assert difference > 30, f"no edit at {at} s"


def thumbnail(path: Path, at_s: float) -> npt.NDArray[np.float32]:
    with av.open(str(path)) as container:
        frame = frame_at(container, at_s)
        assert frame is not None
        pixels: np.ndarray = frame.to_ndarray(width=64, height=36, format="rgb24")
        return pixels.astype(np.float32)


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 s of 320x180 at 24 fps with stereo sound."""
    return make_av_clip(tmp_path_factory.mktemp("short") / "short.mp4", 8.0, 320, 180, 24)


def test_output_size_model_keeps_the_models_frame(short_clip: Path, tmp_path: Path) -> None:
    _, result = round_trip(short_clip, tmp_path, size="model")
    assert (result.width, result.height) == (1280, 720)
    assert probe(result.path).duration_s == pytest.approx(8.0, abs=1 / 24)


def test_a_provider_that_trims_a_segment_is_caught(short_clip: Path, tmp_path: Path) -> None:
    longer = GEN4_ALEPH.model_copy(update={"max_seconds": 9.0})
    plan, result = round_trip(short_clip, tmp_path, longer)
    assert [(s.start, s.end) for s in plan.segments] == [(0, 8 * 24)]
    assert [(m.index, m.expected_s) for m in result.mismatches] == [(0, 8.0)]
    assert result.mismatches[0].actual_s == pytest.approx(5.0, abs=0.05)
    assert probe(result.path).duration_s == pytest.approx(8.0, abs=1 / 24)
