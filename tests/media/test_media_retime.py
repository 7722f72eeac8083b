"""constant_rate: any frame timing onto a constant rate, nearest frame first (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from media.retime import constant_rate


@dataclass
class Frame:
    time: float | None
    name: str


def shown(times: list[float | None], fps: int, count: int) -> list[str]:
    frames = [Frame(at, f"f{i}") for i, at in enumerate(times)]
    return [frame.name for _, frame in constant_rate(frames, Fraction(fps), count)]


def test_the_same_rate_passes_every_frame_once() -> None:
    assert shown([0.0, 0.1, 0.2, 0.3], 10, 4) == ["f0", "f1", "f2", "f3"]


def test_a_slower_source_repeats_and_a_faster_one_drops() -> None:
    assert shown([0.0, 0.2, 0.4], 10, 6) == ["f0", "f0", "f1", "f1", "f2", "f2"]
    assert shown([i / 20 for i in range(8)], 10, 4) == ["f0", "f2", "f4", "f6"]


def test_times_count_from_the_first_frame_and_a_short_source_holds_its_last() -> None:
    assert shown([5.0, 5.1, 5.2], 10, 5) == ["f0", "f1", "f2", "f2", "f2"]


def test_frames_without_times_are_taken_in_order() -> None:
    assert shown([None, None, None], 10, 3) == ["f0", "f1", "f2"]


def test_nothing_comes_of_no_frames() -> None:
    assert shown([], 10, 3) == []
