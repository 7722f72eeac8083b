"""Which frames of each source an edit pays for (pure): handles, merging, placing, naming."""

from __future__ import annotations

from producer.timelines.ranges import (
    EditSavings,
    ResolvedRange,
    Shot,
    item_key,
    merge_ranges,
    parse_timecode,
    resolve_range,
    timecode,
    with_handles,
)

HOUR = 86_400  # 01:00:00:00 at 24 fps


def shot(source: str, start: int, end: int, index: int = 1, **extra: object) -> Shot:
    return Shot("V1", index, f"shot{index}", source, start, end, 24.0, **extra)  # type: ignore[arg-type]


def test_handles_widen_a_shot_within_its_media() -> None:
    assert with_handles(shot("a.mov", HOUR + 48, HOUR + 96), 12) == (HOUR + 36, HOUR + 108)
    inside = shot("a.mov", HOUR + 5, HOUR + 96, media=(HOUR, HOUR + 100))
    assert with_handles(inside, 12) == (HOUR, HOUR + 100)


def test_a_shot_used_twice_and_shots_that_nearly_touch_are_paid_once() -> None:
    shots = [
        shot("a.mov", HOUR + 48, HOUR + 96, 1),
        shot("b.mov", HOUR + 0, HOUR + 24, 2),
        shot("a.mov", HOUR + 72, HOUR + 120, 3),  # overlaps shot 1
        shot("a.mov", HOUR + 150, HOUR + 170, 4),  # 6 frames after shot 3's handles: merged
        shot("a.mov", HOUR + 400, HOUR + 424, 5),  # far: its own range
    ]
    ranges = merge_ranges(shots, handles=12, merge_gap=24)
    assert [(r.source, r.start - HOUR, r.end - HOUR) for r in ranges] == [
        ("a.mov", 36, 182),
        ("a.mov", 388, 436),
        ("b.mov", -12, 36),
    ]
    assert [shot.index for shot in ranges[0].shots] == [1, 3, 4]
    assert [(r.source, r.start - HOUR) for r in merge_ranges(shots, 12, 0)][:3] == [
        ("a.mov", 36),
        ("a.mov", 138),
        ("a.mov", 388),
    ]


def test_timecodes_and_item_keys_read_as_the_shot() -> None:
    assert timecode(HOUR + 24 * 62 + 5, 24) == "01:01:02:05"
    assert parse_timecode("01:01:02:05", 24) == HOUR + 24 * 62 + 5
    assert parse_timecode("01:01:02;05", 30) == (3600 + 62) * 30 + 5
    assert parse_timecode("01:61:02:05", 24) is None
    assert parse_timecode("01:00:00:24", 24) is None
    assert parse_timecode("", 24) is None
    key = item_key("/media/A001 C003.mov", HOUR + 36, HOUR + 182, 24)
    assert key == "A001_C003_01000112-01000714"


def test_a_range_is_placed_in_its_source_clamped_and_widened_to_the_minimum() -> None:
    placed = resolve_range(HOUR + 36, HOUR + 182, 24, HOUR, duration_s=20.0)
    assert placed == ResolvedRange(1.5, 146 / 24, "01:00:01:12")
    clamped = resolve_range(HOUR - 12, HOUR + 36, 24, HOUR, duration_s=20.0)
    assert clamped == ResolvedRange(0.0, 1.5, "01:00:00:00")
    widened = resolve_range(HOUR + 470, HOUR + 478, 24, HOUR, duration_s=20.0, min_seconds=2.0)
    assert isinstance(widened, ResolvedRange)
    assert widened.start_s + widened.seconds == 20.0  # the source ends at frame 480
    assert widened.seconds == 2.0
    missed = resolve_range(HOUR + 600, HOUR + 624, 24, HOUR, duration_s=20.0)
    assert missed == "01:00:25:00-01:00:26:00 is outside the source (01:00:00:00-01:00:20:00)"


def test_savings_compare_the_ranges_with_the_sources_whole() -> None:
    savings = EditSavings(4, 3, 14.0, 4.0, 42.0, 9.0)
    assert round(savings.saved_fraction, 3) == round(1 - 4 / 9, 3)
    assert EditSavings(1, 1, 1.0, 1.0, 0.0, 0.0).saved_fraction == 0.0


def test_ntsc_timecode_is_drop_frame_as_an_nle_writes_it() -> None:
    ntsc = 30000 / 1001
    # Frame numbers 0 and 1 are skipped each minute but every tenth: an hour is 107,892 frames.
    known = {
        0: "00:00:00;00",
        1799: "00:00:59;29",
        1800: "00:01:00;02",
        17982: "00:10:00;00",
        107892: "01:00:00;00",
    }
    for frames, code in known.items():
        assert timecode(frames, ntsc) == code
        assert parse_timecode(code, ntsc) == frames
    assert all(parse_timecode(timecode(n, ntsc), ntsc) == n for n in range(0, 200_000, 997))
    assert parse_timecode(timecode(4321, 60000 / 1001), 60000 / 1001) == 4321
    # A colon means non-drop, whatever the rate; 30 and 25 are never drop-frame.
    assert parse_timecode("01:00:00:00", ntsc) == 108000
    assert timecode(1800, 30.0) == "00:01:00:00"
    assert item_key("A.mov", 107892, 107940, ntsc) == "A_01000000-01000118"
