"""What a provider cannot take is normalised into H.264 MP4 within its limits, not refused."""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

import av
import pytest

from config.catalogue import ALEPH2, GEN4_ALEPH
from media.cutting import cut_segments, normalise_video
from media.errors import ProbeError
from media.normalise import capped_rate, encode_target, fitted_size, plan_rate
from media.plan import plan_segments
from media.probe import VideoInfo, probe
from media.samples import describe_clip, make_clip
from media.stitching import stitch_segments
from tests.media.masters import make_master, make_vfr_clip


def frame_times(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        return [float(frame.time) for frame in container.decode(video=0)]


@pytest.mark.slow
def test_a_prores_mov_master_becomes_h264_mp4_and_keeps_its_sound(tmp_path: Path) -> None:
    master = make_master(tmp_path / "master.mov", seconds=3.0, width=320, height=180, fps=25)
    info = probe(master)
    assert info.size_bytes is not None
    target = encode_target(info, GEN4_ALEPH, max_bytes=info.size_bytes // 4)
    assert target.changes[0] == "prores MOV -> H.264 MP4"
    assert any("segments under" in change for change in target.changes)
    plan = plan_segments(info.duration_s, float(plan_rate(info)), GEN4_ALEPH)
    cuts = cut_segments(master, plan, target, tmp_path / "cut")
    cut_info = probe(cuts[0].path)
    assert (cut_info.container, cut_info.codec, cut_info.fps) == ("mp4", "h264", 25.0)
    assert cuts[0].size_bytes <= info.size_bytes // 4
    with av.open(str(cuts[0].path)) as container:  # all-intra in, not all keyframes out
        keyframes = sum(packet.is_keyframe for packet in container.demux(video=0) if packet.size)
    assert keyframes <= cuts[0].frames // 10
    result = stitch_segments([c.path for c in cuts], plan, master, tmp_path / "out.mp4")
    assert result.audio == "aac"  # PCM does not go into MP4 as it is
    assert probe(result.path).duration_s == pytest.approx(3.0, abs=1 / 25)


@pytest.mark.slow
def test_a_4k_dnxhd_master_is_scaled_to_the_models_limit(tmp_path: Path) -> None:
    master = make_master(tmp_path / "4k.mov", 0.2, 3840, 2160, 25, codec="dnxhd")
    target = encode_target(probe(master), GEN4_ALEPH)
    assert (target.width, target.height) == (1920, 1080)
    assert "3840x2160 -> 1920x1080" in target.changes
    cut = normalise_video(master, target, tmp_path / "4k.mp4")
    info = describe_clip(cut.path.read_bytes())
    assert (info.codec, info.width, info.height, info.frames) == ("h264", 1920, 1080, 5)


def test_a_variable_frame_rate_source_is_cut_at_a_constant_rate(tmp_path: Path) -> None:
    source = make_vfr_clip(tmp_path / "vfr.mp4", seconds=4.0)
    info = probe(source)
    assert info.variable_rate
    target = encode_target(info, GEN4_ALEPH)
    assert target.fps == 30 and "variable frame rate -> constant 30 fps" in target.changes
    plan = plan_segments(info.duration_s, float(plan_rate(info)), GEN4_ALEPH)
    (cut,) = cut_segments(source, plan, target, tmp_path / "cut")
    times = frame_times(cut.path)
    assert len(times) == plan.frames == round(info.duration_s * 30)
    steps = {round(b - a, 4) for a, b in itertools.pairwise(times)}
    assert steps == {round(1 / 30, 4)}


def test_a_fast_source_is_halved_to_the_models_rate() -> None:
    assert capped_rate(Fraction(60000, 1001), 30.0) == Fraction(30000, 1001)
    assert capped_rate(Fraction(50), 30.0) == 25
    assert capped_rate(Fraction(24), 30.0) == 24


def test_an_input_without_a_video_stream_is_refused_clearly(tmp_path: Path) -> None:
    sound = tmp_path / "sound.m4a"
    with av.open(str(sound), "w", format="mp4") as output:
        stream = output.add_stream("aac", rate=48000)
        stream.layout = "stereo"
        frame = av.AudioFrame(format="fltp", layout="stereo", samples=1024)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate, frame.pts = 48000, 0
        output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    clip = make_clip(tmp_path / "clip.mp4")
    info = probe(clip)
    plan = plan_segments(info.duration_s, 12.0, GEN4_ALEPH)
    with pytest.raises(ProbeError, match=r"sound\.m4a: no video stream"):
        cut_segments(sound, plan, encode_target(info, GEN4_ALEPH), tmp_path / "cut")
    assert list((tmp_path / "cut").iterdir()) == []
    with pytest.raises(ProbeError, match="no video stream"):
        probe(sound)


def info(**changes: object) -> VideoInfo:
    base = VideoInfo(
        container="mp4", codec="h264", duration_s=20.0, width=1280, height=720,
        size_bytes=10_000_000, fps=24.0, base_fps=24.0,
    )  # fmt: skip
    return base.model_copy(update=changes)


def test_an_h264_mp4_within_the_limits_is_left_as_it_is() -> None:
    target = encode_target(info(), GEN4_ALEPH)
    assert (target.fps, target.width, target.height, target.changes) == (24, 1280, 720, ())
    # 16 MB over a 5 s segment, with headroom
    assert target.max_bitrate == int(16 * 1024 * 1024 * 8 * 0.8 / 5.0)


def test_what_changes_is_said() -> None:
    target = encode_target(
        info(container="mov", codec="prores", width=3840, height=2160, fps=59.94, base_fps=59.94),
        ALEPH2,
        max_bytes=8 * 1024 * 1024,
        segment_seconds=20.0,
    )
    assert target.changes == (
        "prores MOV -> H.264 MP4",
        "3840x2160 -> 1920x1080",
        "59.94 fps -> 29.97 fps",
        "9.5 MB -> segments under 8 MB",
    )
    assert target.max_bitrate == int(8 * 1024 * 1024 * 8 * 0.8 / 20.0)


def test_a_variable_rate_source_is_planned_at_its_base_rate() -> None:
    assert plan_rate(info(fps=20.17, base_fps=30.0, variable_rate=True)) == 30
    assert plan_rate(info(fps=29.97)) == Fraction(30000, 1001)


def test_sizes_shrink_to_the_limit_and_stay_even() -> None:
    assert fitted_size(1080, 1920, 1280) == (720, 1280)
    assert fitted_size(641, 361, 1920) == (640, 360)
