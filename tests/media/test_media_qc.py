"""Output QC: the verdict on frame statistics (pure), and the statistics of real bad renders
the emulator makes, measured by decoding them."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from config.catalogue import GEN4_ALEPH
from emulator.render import render_edit
from media.qc import Check, Expected, FrameStats, RenderStats, judge, longest_run
from media.qc_measure import measure
from media.samples import make_clip

FPS = Fraction(24)
GOOD = FrameStats(black=0.0, detail=6.0, change=3.0)


def render(frames: list[FrameStats], diff: float | None = 40.0) -> RenderStats:
    return RenderStats(True, FPS, tuple(frames), diff)


def source(frames: list[FrameStats]) -> RenderStats:
    return RenderStats(True, FPS, tuple(frames))


def test_a_good_render_passes_every_check_with_its_numbers() -> None:
    verdict = judge(render([GOOD] * 96), Expected(4.0, source([GOOD] * 96)))
    assert verdict.passed
    assert {f.check for f in verdict.findings} == {
        Check.BLACK, Check.FROZEN, Check.LENGTH, Check.UNEDITED, Check.BLURRED
    }  # fmt: skip
    assert verdict.describe().startswith("QC passed [black ok 0")


def test_black_frames_for_two_seconds_fail_unless_the_source_is_black_there() -> None:
    black = FrameStats(black=1.0, detail=0.0, change=0.0)
    frames = [GOOD] * 40 + [black] * 48 + [GOOD] * 8
    verdict = judge(render(frames), Expected(4.0))
    assert Check.BLACK in verdict.failed
    finding = next(f for f in verdict.findings if f.check is Check.BLACK)
    assert finding.value == pytest.approx(2.0)
    dark_source = source([GOOD] * 40 + [black] * 48 + [GOOD] * 8)
    assert Check.BLACK not in judge(render(frames), Expected(4.0, dark_source)).failed


def test_a_frozen_render_fails_and_a_short_one_fails_at_half_its_length() -> None:
    still = FrameStats(black=0.0, detail=6.0, change=0.05)
    assert Check.FROZEN in judge(render([GOOD] + [still] * 95), Expected(4.0)).failed
    # 1 s render: 0.6 s frozen is past half of it.
    assert Check.FROZEN in judge(render([GOOD] * 10 + [still] * 14), Expected(1.0)).failed
    assert judge(render([GOOD] * 80 + [still] * 16), Expected(4.0)).passed


def test_the_source_handed_back_is_caught() -> None:
    verdict = judge(render([GOOD] * 96, diff=0.4), Expected(4.0))
    assert verdict.failed == (Check.UNEDITED,)


@pytest.mark.parametrize(("frames", "passed"), [(96, True), (97, True), (95, True),
                                                (98, False), (48, False)])  # fmt: skip
def test_the_length_may_be_off_by_one_frame_only(frames: int, passed: bool) -> None:
    verdict = judge(render([GOOD] * frames), Expected(4.0))
    assert (Check.LENGTH not in verdict.failed) is passed


def test_a_model_may_hand_back_its_whole_window_for_a_shorter_input() -> None:
    expected = Expected(4.0, longest_s=5.0)
    assert judge(render([GOOD] * 120), expected).passed  # 5 s for a 4 s input
    assert Check.LENGTH in judge(render([GOOD] * 122), expected).failed
    assert Check.LENGTH in judge(render([GOOD] * 90), expected).failed


def test_a_blurred_or_blank_render_fails_against_the_source_detail() -> None:
    soft = FrameStats(black=0.0, detail=1.0, change=3.0)
    assert judge(render([soft] * 96), Expected(4.0, source([GOOD] * 96))).failed == (Check.BLURRED,)
    # A source with no detail to lose: nothing to compare.
    flat = FrameStats(black=0.0, detail=0.1, change=3.0)
    assert judge(render([soft] * 96), Expected(4.0, source([flat] * 96))).passed


def test_no_video_is_its_own_failure() -> None:
    verdict = judge(RenderStats(False, FPS), Expected(4.0))
    assert verdict.failed == (Check.NO_VIDEO,)


def test_longest_run() -> None:
    assert longest_run([True, True, False, True, True, True, False]) == 3
    assert longest_run([]) == 0


@pytest.fixture(scope="module")
def segment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("qc") / "in.mp4", 2.0, 192, 144, 24)


@pytest.mark.parametrize(
    ("defect", "failed"),
    [
        (None, set()),
        ("black", {Check.BLACK}),
        ("frozen", {Check.FROZEN}),
        ("truncated", {Check.LENGTH}),
        ("unedited", {Check.UNEDITED}),
        ("blurred", {Check.BLURRED}),
        ("not_video", {Check.NO_VIDEO}),
    ],
)
def test_the_emulators_bad_renders_are_each_caught_by_their_check(
    segment: Path, tmp_path: Path, defect: str | None, failed: set[Check]
) -> None:
    output = tmp_path / "out.mp4"
    output.write_bytes(render_edit(segment.read_bytes(), "winter", (4, 3), GEN4_ALEPH, defect))
    stats, sent = measure(output, segment)
    verdict = judge(stats, Expected(2.0, sent))
    assert failed <= set(verdict.failed), verdict.describe()
    assert verdict.passed is (not failed)
