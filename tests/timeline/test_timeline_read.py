"""Timelines in: OTIO, CMX 3600 EDL and FCP7 XML become one row per merged range."""

from __future__ import annotations

from pathlib import Path

import opentimelineio as otio
import pytest

from producer.manifest import ManifestProblems
from producer.timelines.ranges import TimelineChoices
from producer.timelines.reading import MARK, read_timeline
from tests.timeline.support import HOUR, LENGTHS, make_edit


@pytest.fixture
def media(tmp_path: Path) -> Path:
    folder = tmp_path / "media"
    folder.mkdir()
    for name in LENGTHS:
        (folder / name).write_bytes(b"not probed here")
    return folder


def test_an_otio_edit_becomes_its_merged_ranges(media: Path, tmp_path: Path) -> None:
    path = tmp_path / "edit.otio"
    otio.adapters.write_to_file(make_edit(media), str(path))
    found = read_timeline(path, TimelineChoices(handles=12, merge_gap_s=1.0))
    ranges = [
        (Path(r.source).name, r.edit_range.start - HOUR, r.edit_range.end - HOUR)
        for r in found.rows
        if r.edit_range
    ]
    # A's first two shots overlap: one range. The dissolve adds 6 frames to A's second shot
    # (out) and C's (in); handles are 12 frames; media starts at 01:00:00:00.
    assert ranges == [
        ("A001.mp4", 36, 162),
        ("A001.mp4", 324, 396),
        ("B002.mp4", 12, 84),
        ("C003.mp4", 102, 180),
    ]
    assert found.rows[0].key == "A001_01000112-01000618"
    assert found.rows[0].place == "track V1, clip 1 (A001) and 1 more"
    assert all(row.edit_range and row.edit_range.media_start == HOUR for row in found.rows)
    warnings = sorted(error.message for error in found.errors if error.warning)
    assert warnings == [
        "skipped 1 audio tracks",
        "skipped 1 gaps",
        "skipped 1 transitions (their media is added to their clips)",
    ]
    marked = otio.adapters.read_from_string(found.marked, "otio_json")
    items = [clip.metadata[MARK]["item"] for clip in marked.find_clips()]
    assert items == [
        found.rows[0].key,
        found.rows[2].key,
        found.rows[0].key,
        found.rows[3].key,
        found.rows[1].key,
    ]


@pytest.mark.parametrize("suffix", [".edl", ".xml"])
def test_edl_and_fcp_xml_round_trip_to_the_same_sources(
    media: Path, tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"edit{suffix}"
    otio.adapters.write_to_file(make_edit(media), str(path))
    found = read_timeline(path, TimelineChoices(handles=12))
    assert not [error for error in found.errors if not error.warning]
    sources = sorted({Path(row.source).name for row in found.rows})
    assert sources == ["A001.mp4", "B002.mp4", "C003.mp4"]
    first = next(row for row in found.rows if row.source.endswith("A001.mp4"))
    assert first.edit_range is not None and first.edit_range.start - HOUR == 36
    if suffix == ".edl":  # an EDL does not say where the media starts: its own timecode will
        assert first.edit_range.media_start is None
        assert first.edit_range.reel == "A001mp4"  # the adapter derives it from the file name


def test_media_that_resolves_nowhere_names_the_track_and_clip(media: Path, tmp_path: Path) -> None:
    (media / "C003.mp4").unlink()
    path = tmp_path / "edit.otio"
    otio.adapters.write_to_file(make_edit(media), str(path))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    found = read_timeline(path, TimelineChoices(media_path=(str(elsewhere),)))
    (error,) = [error for error in found.errors if not error.warning]
    assert str(error).startswith(f"{path}: source: track V1, clip 4 (C003): ")
    assert "C003.mp4 not found in" in str(error) and str(elsewhere) in str(error)
    with pytest.raises(ManifestProblems):
        raise ManifestProblems([error])


def test_media_moved_since_the_edit_is_found_on_the_search_path(
    media: Path, tmp_path: Path
) -> None:
    path = tmp_path / "edit.otio"
    otio.adapters.write_to_file(make_edit(media), str(path))
    moved = tmp_path / "moved"
    media.rename(moved)
    found = read_timeline(path, TimelineChoices(media_path=(str(moved),)))
    assert {Path(row.source).parent for row in found.rows} == {moved.resolve()}
