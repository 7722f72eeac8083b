"""cut_segments: every segment frame-exact, starting on a keyframe, decodable on its own."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from config.catalogue import GEN4_ALEPH
from media.cutting import CutSegment, cut_segments, file_sha256
from media.frames import frame_at
from media.normalise import encode_target
from media.plan import SegmentPlan, plan_segments
from media.probe import probe
from media.samples import make_av_clip
from tests.media.masters import make_master

STRICT = GEN4_ALEPH.model_copy(update={"min_seconds": 2.0, "max_seconds": 2.0})


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """5 s of 320x180 at 24 fps, every frame different."""
    return make_av_clip(tmp_path_factory.mktemp("cut") / "five.mp4", 5.0, 320, 180, 24)


def cut(source: Path, folder: Path, plan: SegmentPlan) -> list[CutSegment]:
    return cut_segments(source, plan, encode_target(probe(source), GEN4_ALEPH), folder)


def thumb(path: Path, at_s: float) -> np.ndarray:
    with av.open(str(path)) as container:
        frame = frame_at(container, at_s)
        assert frame is not None
        pixels: np.ndarray = frame.to_ndarray(width=64, height=36, format="rgb24")
        return pixels.astype(np.float32)


def assert_exact(source: Path, plan: SegmentPlan, cuts: list[CutSegment]) -> None:
    assert [c.index for c in cuts] == [s.index for s in plan.segments]
    for segment, piece in zip(plan.segments, cuts, strict=True):
        with av.open(str(piece.path)) as container:
            packets = [p for p in container.demux(video=0) if p.size]
            assert packets[0].is_keyframe
        with av.open(str(piece.path)) as container:
            times = [frame.time for frame in container.decode(video=0)]
        assert len(times) == piece.frames == segment.frames
        assert times[0] == 0.0
        first, last = plan.start_s(segment), (segment.end - 1) / plan.fps
        for at, mine in ((first, 0.0), (last, times[-1])):
            assert np.abs(thumb(source, at) - thumb(piece.path, mine)).mean() < 4
        assert piece.sha256 == file_sha256(piece.path)


def test_touching_segments_are_cut_exactly(source: Path, tmp_path: Path) -> None:
    plan = plan_segments(5.0, 24.0, GEN4_ALEPH.model_copy(update={"max_seconds": 2.0}))
    assert len(plan.segments) == 3
    assert_exact(source, plan, cut(source, tmp_path, plan))


def test_overlapping_segments_are_cut_exactly(source: Path, tmp_path: Path) -> None:
    plan = plan_segments(5.0, 24.0, STRICT)
    assert plan.segments[1].start < plan.segments[0].end
    assert_exact(source, plan, cut(source, tmp_path, plan))


def test_max_seconds_cuts_only_the_start(source: Path, tmp_path: Path) -> None:
    plan = plan_segments(5.0, 24.0, GEN4_ALEPH, max_seconds=1.5)
    (piece,) = cut(source, tmp_path, plan)
    assert piece.frames == 36 and piece.duration_s == 1.5


def test_an_all_intra_master_is_not_cut_into_all_keyframes(tmp_path: Path) -> None:
    master = make_master(tmp_path / "intra.mov", seconds=3.0, width=320, height=180, fps=24)
    touching = GEN4_ALEPH.model_copy(update={"max_seconds": 2.0})
    for number, window in enumerate((touching, STRICT)):
        plan = plan_segments(3.0, 24.0, window)
        for piece in cut(master, tmp_path / str(number), plan):
            with av.open(str(piece.path)) as container:
                packets = [p for p in container.demux(video=0) if p.size]
            assert sum(p.is_keyframe for p in packets) <= piece.frames // 10


def keyframed(path: Path, seconds: float, fps: int, every_s: float) -> Path:
    """Moving bars with a keyframe every ``every_s`` (an editor's master, seekable)."""
    from media.samples import PATTERNS

    with av.open(str(path), mode="w", format="mp4") as output:
        video = output.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = 320, 180, "yuv420p"
        video.options = {"preset": "ultrafast", "g": str(round(every_s * fps))}
        for index in range(round(seconds * fps)):
            image = av.VideoFrame.from_ndarray(PATTERNS["bars"](index, 320, 180), format="rgb24")
            output.mux(video.encode(image.reformat(format="yuv420p")))
        output.mux(video.encode(None))
    return path


def decoded_pixels(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="yuv420p") for frame in container.decode(video=0)]


def test_a_range_deep_in_its_source_is_reached_by_a_seek_and_cut_to_the_same_frames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import media.cutting as cutting

    source = keyframed(tmp_path / "master.mp4", seconds=16.0, fps=24, every_s=1.0)
    window = GEN4_ALEPH.model_copy(update={"max_seconds": 2.0})
    plan = plan_segments(16.0, 24.0, window, (), 3.0, start_s=10.5)
    target = encode_target(probe(source), window)
    times: list[float] = []
    decoded = cutting._decoded

    def counting(container: object, stream: object, where: str) -> object:
        for frame in decoded(container, stream, where):
            times.append(float(frame.time))
            yield frame

    monkeypatch.setattr(cutting, "_decoded", counting)
    sought = cut_segments(source, plan, target, tmp_path / "sought")
    # The first frame (for the source's start), then from the keyframe at 9 s, 1.5 s before.
    assert times[0] == 0.0 and times[1] == 9.0 and len(times) < 24 * 5
    assert_exact(source, plan, sought)

    times.clear()
    monkeypatch.setattr(cutting, "SEEK_AFTER_S", float("inf"))
    whole = cut_segments(source, plan, target, tmp_path / "whole")
    assert times[0] == 0.0 and len(times) > 24 * 13
    for mine, theirs in zip(sought, whole, strict=True):
        (mine_frames, their_frames) = (decoded_pixels(mine.path), decoded_pixels(theirs.path))
        assert len(mine_frames) == len(their_frames) == mine.frames
        assert all(np.array_equal(a, b) for a, b in zip(mine_frames, their_frames, strict=True))
