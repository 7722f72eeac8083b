"""Manifest parsing: good CSV and JSONL, and every kind of bad input named by line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import ProviderName
from producer.manifest import (
    ManifestError,
    ManifestProblems,
    ManifestRow,
    errors_only,
    parse_manifest,
    read_manifest,
    scan_manifest_bytes,
    warnings_only,
)


def problems_of(data: bytes, name: str) -> list[tuple[int | None, str | None]]:
    with pytest.raises(ManifestProblems) as caught:
        parse_manifest(data, name)
    assert all(error.file == name for error in caught.value.errors)
    return [(error.line, error.field) for error in caught.value.errors]


def test_csv_rows_carry_their_line_and_typed_values() -> None:
    data = (
        b"source,key,prompt,provider,aspect_ratio,seed,reference_image\n"
        b"s3://lib/a.mp4,a,make it snow,Runway,16:9,42,https://example.com/r.png\n"
        b"\n"
        b"https://example.com/b.mp4,,,,,,\n"
    )
    rows = parse_manifest(data, "m.csv")
    assert rows == [
        ManifestRow(
            line=2,
            source="s3://lib/a.mp4",
            key="a",
            prompt="make it snow",
            provider=ProviderName.RUNWAY,
            aspect_ratio="16:9",
            seed=42,
            reference_image="https://example.com/r.png",
            file="m.csv",
        ),
        ManifestRow(line=4, source="https://example.com/b.mp4", file="m.csv"),
    ]


def test_csv_with_a_quoted_newline_reports_the_line_a_row_starts_on() -> None:
    data = b'source,prompt\na.mp4,"two\nlines"\nb.mp4,x\nc.mp4,y,extra\n'
    with pytest.raises(ManifestProblems) as caught:
        parse_manifest(data, "m.csv")
    assert [(e.line, e.field) for e in caught.value.errors] == [(5, None)]
    rows, _ = scan_manifest_bytes(data, "m.csv")
    assert [(row.line, row.prompt) for row in rows] == [(2, "two\nlines"), (4, "x")]


def test_jsonl_rows_accept_numbers_and_skip_blank_lines() -> None:
    data = (
        b'{"source": "a.mp4", "seed": 7, "provider": "segmind"}\n'
        b"\n"
        b'{"source": "b.mp4", "key": "b-1", "seed": "8"}\n'
    )
    rows = parse_manifest(data, "m.jsonl")
    assert [(r.line, r.source, r.seed, r.key, r.provider) for r in rows] == [
        (1, "a.mp4", 7, None, ProviderName.SEGMIND),
        (3, "b.mp4", 8, "b-1", None),
    ]


def test_a_utf8_byte_order_mark_is_not_part_of_the_first_column() -> None:
    rows = parse_manifest(b"\xef\xbb\xbfsource\na.mp4\n", "m.csv")
    assert rows == [ManifestRow(line=2, source="a.mp4", file="m.csv")]


BAD_INPUTS = [
    pytest.param(b"", "m.csv", [(None, None)], id="empty-file"),
    pytest.param(b"  \n\n", "m.jsonl", [(None, None)], id="blank-file"),
    pytest.param(b"source,prompt\n", "m.csv", [(None, None)], id="header-only"),
    pytest.param(b"prompt\nhello\n", "m.csv", [(1, "source")], id="missing-source-column"),
    pytest.param(b"source,promt\na.mp4,x\n", "m.csv", [(1, "promt")], id="unknown-column"),
    pytest.param(b"source,source\na,b\n", "m.csv", [(1, "source")], id="duplicate-column"),
    pytest.param(b"source,prompt\n,hello\n", "m.csv", [(2, "source")], id="empty-source"),
    pytest.param(
        b"source,key\na.mp4,k\nb.mp4,k\nc.mp4,j\nd.mp4,k\n",
        "m.csv",
        [(3, "key"), (5, "key")],
        id="duplicate-keys",
    ),
    pytest.param(b"source,key\na.mp4,../up\n", "m.csv", [(2, "key")], id="unsafe-key"),
    pytest.param(b"source,seed\na.mp4,x\nb.mp4,-1\n", "m.csv", [(2, "seed"), (3, "seed")]),
    pytest.param(b"source,seed\na.mp4,4294967296\n", "m.csv", [(2, "seed")], id="seed-too-big"),
    pytest.param(b"source,provider\na.mp4,openai\n", "m.csv", [(2, "provider")]),
    pytest.param(
        b"source,prompt\na.mp4,ok\nb.mp4,caf\xe9\nc.mp4,ok\n",
        "m.csv",
        [(3, None)],
        id="bad-utf8-line",
    ),
    pytest.param(b'{"source": "a.mp4"}\n{"source": \n', "m.jsonl", [(2, None)], id="bad-json"),
    pytest.param(b'["a.mp4"]\n', "m.jsonl", [(1, None)], id="json-not-object"),
    pytest.param(b'{"source": "a", "sed": 1}\n', "m.jsonl", [(1, "sed")], id="json-misspelt"),
    pytest.param(b'{"prompt": "x"}\n', "m.jsonl", [(1, "source")], id="json-missing-source"),
    pytest.param(b'{"source": 5}\n', "m.jsonl", [(1, "source")], id="json-source-not-text"),
    pytest.param(b'{"source": "a", "seed": true}\n', "m.jsonl", [(1, "seed")], id="json-bool"),
    pytest.param(b"source\na.mp4\n", "m.txt", [(None, None)], id="not-a-manifest-name"),
]


@pytest.mark.parametrize(("data", "name", "expected"), BAD_INPUTS)
def test_bad_manifests_name_every_problem_by_line_and_field(
    data: bytes, name: str, expected: list[tuple[int | None, str | None]]
) -> None:
    assert problems_of(data, name) == expected


def test_all_problems_of_a_manifest_are_reported_together() -> None:
    data = b"source,seed,provider,key\na.mp4,x,runway,k\n,1,runway,j\nc.mp4,2,nope,k\n"
    assert problems_of(data, "m.csv") == [(2, "seed"), (3, "source"), (4, "provider")]


def test_a_duplicate_key_message_points_at_the_first_occurrence() -> None:
    with pytest.raises(ManifestProblems) as caught:
        parse_manifest(b"source,key\na,k\nb,k\n", "lib.csv")
    assert str(caught.value.errors[0]) == "lib.csv: row 3: key: duplicate key 'k' (first on line 2)"


def test_scanning_keeps_the_good_rows_beside_the_problems() -> None:
    rows, errors = scan_manifest_bytes(b"source,seed\na.mp4,1\nb.mp4,x\nc.mp4,3\n", "m.csv")
    assert [row.source for row in rows] == ["a.mp4", "c.mp4"]
    assert errors == [ManifestError("m.csv", 3, "seed", errors[0].message)]
    assert "0 to 4294967295" in errors[0].message


def test_read_manifest_reads_the_file_and_names_it_in_errors(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text('{"source": "a.mp4"}\n')
    assert read_manifest(good) == [ManifestRow(line=1, source="a.mp4", file=str(good))]
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"")
    with pytest.raises(ManifestProblems, match=f"{bad}: the manifest is empty"):
        read_manifest(bad)


def test_unknown_columns_are_ignored_with_one_warning_that_lists_them() -> None:
    data = b"source,notes,title,duration\na.mp4,n,t,12\nb.mp4,,,\n"
    rows, found = scan_manifest_bytes(data, "assets.csv")
    assert [row.source for row in rows] == ["a.mp4", "b.mp4"]
    assert errors_only(found) == []
    (warning,) = warnings_only(found)
    assert str(warning) == (
        "assets.csv: ignored unknown column(s): duration, notes, title "
        "(--strict-columns refuses them)"
    )
    lines = b'{"source": "a.mp4", "notes": "x"}\n{"source": "b.mp4", "title": "y"}\n'
    rows, found = scan_manifest_bytes(lines, "assets.jsonl")
    assert len(rows) == 2 and "notes, title" in str(warnings_only(found)[0])


def test_strict_columns_refuses_every_unknown_column() -> None:
    with pytest.raises(ManifestProblems) as caught:
        parse_manifest(b"source,notes\na.mp4,n\n", "assets.csv", strict_columns=True)
    (error,) = caught.value.errors
    assert (error.line, error.field) == (1, "notes") and "--strict-columns" in error.message


@pytest.mark.parametrize(
    ("column", "known"),
    [("promt", "prompt"), ("Source", "source"), ("refrence_image", "reference_image")],
)
def test_a_column_that_looks_misspelt_stays_an_error_with_a_suggestion(
    column: str, known: str
) -> None:
    with pytest.raises(ManifestProblems) as caught:
        parse_manifest(f"source,{column}\na.mp4,x\n".encode(), "m.csv")
    (error,) = [e for e in caught.value.errors if e.field == column]
    assert error.message == f"unknown column {column!r}: did you mean {known!r}?"
