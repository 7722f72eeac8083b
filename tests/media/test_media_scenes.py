"""Hard cuts found by PySceneDetect (through PyAV), whole or skipping frames."""

from __future__ import annotations

from pathlib import Path

import pytest

from media.errors import ProbeError
from media.scenes import find_cuts, frame_skip_for


def test_every_hard_cut_is_found(stereo_clip: Path) -> None:
    assert find_cuts(stereo_clip) == pytest.approx((4.0, 8.0, 12.0, 16.0))


def test_skipping_frames_finds_them_within_a_few_frames(stereo_clip: Path) -> None:
    cuts = find_cuts(stereo_clip, frame_skip=2)
    assert len(cuts) == 4
    assert all(abs(a - b) <= 3 / 24 for a, b in zip(cuts, (4.0, 8.0, 12.0, 16.0), strict=True))


def test_only_the_first_seconds_are_read_when_asked(stereo_clip: Path) -> None:
    assert find_cuts(stereo_clip, until_s=10.0) == pytest.approx((4.0, 8.0))


def test_a_long_source_gets_a_frame_skip_within_its_budget() -> None:
    assert frame_skip_for(24.0, 60.0) == 0
    assert frame_skip_for(60.0, 3600.0, budget_frames=36_000) == 6


def test_a_file_that_is_not_a_video_is_refused(clips: Path) -> None:
    with pytest.raises(ProbeError, match=r"notes\.txt"):
        find_cuts(clips / "notes.txt")
