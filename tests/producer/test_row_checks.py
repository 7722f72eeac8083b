"""The pure checks of a row: defaults, provider limits, request building, item keys."""

from __future__ import annotations

import pytest

from config.catalogue import CATALOGUE
from config.settings import ProviderName
from media.plan import PlanError, plan_segments
from producer.checks import (
    BatchDefaults,
    RowOptions,
    build_request,
    control_problems,
    item_key,
    limit_problems,
    merge_options,
)
from producer.images import ImageInfo, image_problems, sniff
from producer.manifest import ManifestRow

ROW = ManifestRow(line=3, source="s3://lib/clips/Beach Day.mp4")
DEFAULTS = BatchDefaults(prompt="make it winter", provider=ProviderName.RUNWAY, seed=1)


def options(**changes: object) -> RowOptions:
    base = merge_options(ROW, DEFAULTS)
    assert isinstance(base, RowOptions)
    return RowOptions(**{**base.__dict__, **changes})


def test_row_cells_override_the_batch_defaults() -> None:
    row = ManifestRow(line=2, source="a.mp4", prompt="noir", provider=ProviderName.CRUN, seed=0)
    merged = merge_options(row, DEFAULTS)
    assert merged == RowOptions(ProviderName.CRUN, "noir", None, 0, None)


def test_a_row_without_prompt_or_provider_anywhere_names_both_fields() -> None:
    merged = merge_options(ROW, BatchDefaults())
    assert isinstance(merged, list)
    assert [field for field, _ in merged] == ["provider", "prompt"]


def test_a_source_within_limits_has_no_problems() -> None:
    assert limit_problems(CATALOGUE[ProviderName.RUNWAY], "mp4", 8.0, 5 * 2**20) == []


def test_each_broken_limit_is_its_own_problem_on_the_source() -> None:
    segmind = CATALOGUE[ProviderName.SEGMIND]
    problems = limit_problems(segmind, "matroska", 900.0, 17 * 2**20)
    assert [field for field, _ in problems] == ["source", "source", "source"]
    text = " | ".join(message for _, message in problems)
    assert "17.0 MiB exceeds segmind's 16 MiB" in text
    assert "matroska is not accepted by segmind; use mp4, mov, webm" in text
    assert "900.0 s exceeds segmind's 600 s" in text


def test_an_unknown_size_is_not_a_problem() -> None:
    assert limit_problems(CATALOGUE[ProviderName.RUNWAY], "mov", 3.0, None) == []


def test_runway_aleph2_edits_2_to_30_seconds_and_longer_sources_are_segmented() -> None:
    window = CATALOGUE[ProviderName.RUNWAY].window
    assert (window.model, window.min_seconds, window.max_seconds) == ("aleph2", 2.0, 30.0)
    # Length is the plan's business, not an input limit: 31 s is two segments, 1.5 s too short.
    assert limit_problems(CATALOGUE[ProviderName.RUNWAY], "mp4", 31.0, None) == []
    assert len(plan_segments(31.0, 24.0, window).segments) == 2
    with pytest.raises(PlanError, match="shorter than aleph2's minimum"):
        plan_segments(1.5, 24.0, window)


def test_request_errors_are_named_by_manifest_column() -> None:
    problems = build_request("", options(aspect_ratio="5:4", reference_image=""))
    assert isinstance(problems, list)
    fields = sorted(field or "" for field, _ in problems)
    assert fields == ["aspect_ratio", "source"]


def test_a_valid_row_becomes_an_edit_request() -> None:
    request = build_request("https://x.example/a.mp4", options(aspect_ratio="9:16"))
    assert not isinstance(request, list)
    assert (request.prompt, request.aspect_ratio, request.seed) == ("make it winter", "9:16", 1)


def test_an_explicit_key_is_the_item() -> None:
    row = ManifestRow(line=2, source="a.mp4", key="shot-12")
    assert item_key(row, options()) == "shot-12"


def test_a_derived_item_is_readable_and_stable() -> None:
    first = item_key(ROW, options())
    assert first == item_key(ROW, options())
    assert first.startswith("Beach_Day-")
    assert len(first.split("-")[-1]) == 12


@pytest.mark.parametrize(
    "change",
    [
        {"prompt": "make it summer"},
        {"provider": ProviderName.SEGMIND},
        {"aspect_ratio": "1:1"},
        {"seed": 2},
        {"reference_image": "https://x.example/r.png"},
    ],
)
def test_a_derived_item_changes_with_any_edit_parameter(change: dict[str, object]) -> None:
    assert item_key(ROW, options(**change)) != item_key(ROW, options())


def test_a_derived_item_changes_with_the_source() -> None:
    other = ManifestRow(line=3, source="s3://lib/clips/Beach Day 2.mp4")
    assert item_key(other, options()) != item_key(ROW, options())


def test_line_whitespace_in_a_prompt_becomes_one_space() -> None:
    row = ManifestRow(line=2, source="a.mp4", prompt="make it\twinter \r\n\u2028 at night")
    merged = merge_options(row, DEFAULTS)
    assert isinstance(merged, RowOptions)
    assert merged.prompt == "make it winter at night"


@pytest.mark.parametrize(
    ("char", "named"), [("\x00", "U+0000 (NUL)"), ("\x1b", "U+001B (ESC)"), ("\x85", "")]
)
def test_a_prompt_with_a_control_character_is_a_prompt_problem(char: str, named: str) -> None:
    merged = merge_options(ManifestRow(line=2, source="a.mp4", prompt=f"snow{char}y"), DEFAULTS)
    if not named:  # NEL is a line break: normalised, not refused
        assert isinstance(merged, RowOptions) and merged.prompt == "snow y"
        return
    assert isinstance(merged, list)
    ((column, message),) = merged
    assert column == "prompt" and named in message and "character 5" in message


def test_control_problems_pass_ordinary_unicode() -> None:
    assert control_problems("neige, café, 雪, 🎬, zero\u200dwidth joiner") == []


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\xff\xd8\xff\xe0" + bytes(8), "jpeg"),
        (b"\x89PNG\r\n\x1a\n" + bytes(8), "png"),
        (b"GIF87a" + bytes(8), "gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp"),
        (b"<html><body>", None),
        (b"\x00\x00\x00\x18ftypmp42", None),
    ],
)
def test_image_types_are_told_by_their_first_bytes(head: bytes, kind: str | None) -> None:
    assert sniff(head) == kind


def test_image_problems_hold_type_and_size_against_the_catalogue() -> None:
    runway, vibedream = CATALOGUE[ProviderName.RUNWAY], CATALOGUE[ProviderName.VIBEDREAM]
    gif = ImageInfo("gif", "image/gif", 1000)
    assert image_problems(runway, gif) == [
        ("reference_image", "gif is not accepted by runway; use jpeg, png, webp")
    ]
    assert image_problems(vibedream, gif) == []
    huge = ImageInfo("png", "image/png", 17 * 2**20)
    assert image_problems(runway, huge) == [("reference_image", "17.0 MiB exceeds runway's 16 MiB")]
    ((column, message),) = image_problems(runway, ImageInfo(None, "text/html", 25))
    assert column == "reference_image" and message.startswith("not an image (text/html")
