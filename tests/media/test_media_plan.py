"""Segment plans: exact cover, no gaps, every segment within the model's window."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.catalogue import ALEPH2, GEN4_ALEPH, EditWindow
from media.plan import PlanError, SegmentPlan, plan_segments

STRICT = GEN4_ALEPH.model_copy(update={"min_seconds": 5.0, "max_seconds": 5.0})


def assert_valid(plan: SegmentPlan, window: EditWindow) -> None:
    fps = plan.fps
    segments = plan.segments
    assert [s.index for s in segments] == list(range(len(segments)))
    assert segments[0].start == 0 and segments[-1].end == plan.frames
    for segment in segments:
        shortest = math.ceil(window.min_seconds * fps - 1e-9)
        assert segment.frames >= shortest
        # A window narrower than a frame (5.0-5.0 s at 23.976) gets its shortest length.
        assert segment.frames <= max(shortest, window.max_seconds * fps + 1e-6)
        assert segment.trim_head >= 0 and segment.trim_tail >= 0
        first, last = segment.kept
        assert first < last
    kept = [s.kept for s in segments]
    assert kept[0][0] == 0 and kept[-1][1] == plan.frames
    for (_, end), (start, _) in itertools.pairwise(kept):
        assert end == start  # stitched output has no gap and no repeated frame
    for before, after in itertools.pairwise(segments):
        assert after.start <= before.end  # what is sent covers the clip too
        # A crossfade blends frames the later segment was sent over the earlier one's last.
        assert 0 <= after.fade_in <= after.trim_head
        assert after.fade_in <= before.kept[1] - before.kept[0]
    assert segments[0].fade_in == 0


def test_a_17_s_clip_is_four_segments_for_a_5_s_window() -> None:
    plan = plan_segments(17.0, 24.0, GEN4_ALEPH)
    assert len(plan.segments) == 4
    assert [s.frames for s in plan.segments] == [102, 102, 102, 102]
    assert plan.billed_seconds == pytest.approx(17.0)
    assert plan.dropped_seconds == 0
    assert_valid(plan, GEN4_ALEPH)


def test_max_seconds_drops_the_rest_and_says_so() -> None:
    plan = plan_segments(17.0, 24.0, GEN4_ALEPH, max_seconds=5.0)
    assert [(s.start, s.end) for s in plan.segments] == [(0, 120)]
    assert plan.dropped_seconds == pytest.approx(12.0)
    assert plan.billed_seconds == pytest.approx(5.0)


def test_a_window_with_a_fixed_length_overlaps_the_last_segments() -> None:
    plan = plan_segments(12.0, 10.0, STRICT)
    assert [(s.start, s.end) for s in plan.segments] == [(0, 50), (35, 85), (70, 120)]
    assert [s.kept for s in plan.segments] == [(0, 43), (43, 78), (78, 120)]
    assert plan.billed_seconds == pytest.approx(15.0)
    assert_valid(plan, STRICT)


def test_overlapped_segments_are_sent_the_frames_before_their_own_and_still_fit() -> None:
    plain = plan_segments(60.0, 24.0, GEN4_ALEPH)
    faded = plan_segments(60.0, 24.0, GEN4_ALEPH, overlap=12)

    assert len(plain.segments) == 12 and len(faded.segments) == 14  # 108 new frames a segment
    assert [s.fade_in for s in faded.segments] == [0] + [12] * 13
    assert all(s.frames <= 120 for s in faded.segments)
    assert faded.billed_seconds == pytest.approx(60.0 + 13 * 0.5)
    second = faded.segments[1]
    assert second.start == faded.segments[0].end - 12 and second.kept[0] == faded.segments[0].end
    assert_valid(faded, GEN4_ALEPH)


def test_a_seam_at_a_scene_cut_is_not_crossfaded_and_a_one_window_clip_has_none() -> None:
    plan = plan_segments(17.0, 24.0, GEN4_ALEPH, scene_cuts=[4.1], overlap=12)
    assert plan.segments[1].start == round(4.1 * 24) and plan.segments[1].fade_in == 0
    assert [s.after_cut for s in plan.segments] == [False, True, False, False]
    assert [s.fade_in for s in plan.segments[2:]] == [12, 12]
    assert plan_segments(4.0, 24.0, GEN4_ALEPH, overlap=12).segments[0].fade_in == 0


def test_a_boundary_moves_to_a_scene_cut_within_a_second() -> None:
    plan = plan_segments(17.0, 24.0, GEN4_ALEPH, scene_cuts=[3.9, 8.0, 15.5])
    assert plan.segments[0].end == round(3.9 * 24)
    assert plan.segments[1].end == round(8.0 * 24)
    assert_valid(plan, GEN4_ALEPH)


def test_a_cut_that_would_break_the_window_is_ignored() -> None:
    plan = plan_segments(10.0, 24.0, GEN4_ALEPH, scene_cuts=[5.9])
    assert [(s.start, s.end) for s in plan.segments] == [(0, 120), (120, 240)]


@pytest.mark.parametrize(
    ("duration", "max_seconds", "message"),
    [(0.5, None, "shorter than gen4_aleph's minimum"), (10.0, 0.0, "max_seconds must be")],
)
def test_unplannable_clips_are_refused(
    duration: float, max_seconds: float | None, message: str
) -> None:
    with pytest.raises(PlanError, match=message):
        plan_segments(duration, 24.0, GEN4_ALEPH, max_seconds=max_seconds)


windows = st.builds(
    lambda low, span: GEN4_ALEPH.model_copy(update={"min_seconds": low, "max_seconds": low + span}),
    st.floats(0.5, 10.0),
    st.floats(0.0, 30.0),
)


@settings(max_examples=300, deadline=None)
@given(
    duration=st.floats(0.5, 600.0),
    fps=st.sampled_from([12.0, 23.976, 24.0, 25.0, 29.97, 30.0, 60.0]),
    window=st.one_of(st.just(GEN4_ALEPH), st.just(ALEPH2), st.just(STRICT), windows),
    cuts=st.lists(st.floats(0.0, 600.0), max_size=30),
    max_seconds=st.one_of(st.none(), st.floats(0.5, 600.0)),
    overlap=st.sampled_from([0, 1, 12, 48]),
)
def test_every_plan_covers_the_clip_within_the_window(
    duration: float,
    fps: float,
    window: EditWindow,
    cuts: list[float],
    max_seconds: float | None,
    overlap: int,
) -> None:
    try:
        plan = plan_segments(
            duration, fps, window, scene_cuts=cuts, max_seconds=max_seconds, overlap=overlap
        )
    except PlanError:
        kept = min(duration, max_seconds or duration)
        assert round(kept * fps) < window.min_seconds * fps
        return
    assert_valid(plan, window)
    assert plan.frames == round(min(duration, max_seconds or duration) * fps)
    assert plan.billed_seconds >= plan.seconds - 1e-9
