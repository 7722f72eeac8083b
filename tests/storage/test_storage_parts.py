"""Parts cut from a chunk stream keep every byte in order and read like files."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st

from storage.multipart import part_size_for, parts_in_flight
from storage.parts import PartBody, rechunk

MIB = 1024 * 1024
chunk_lists = st.lists(st.binary(min_size=0, max_size=40), max_size=30)


@given(chunk_lists, st.integers(min_value=1, max_value=64))
def test_rechunk_keeps_the_bytes_in_parts_of_the_given_size(
    chunks: list[bytes], part_bytes: int
) -> None:
    parts = [part.read() for part in rechunk(chunks, part_bytes)]
    assert b"".join(parts) == b"".join(chunks)
    assert all(len(part) == part_bytes for part in parts[:-1])
    assert all(0 < len(part) <= part_bytes for part in parts)


@given(chunk_lists, st.lists(st.tuples(st.integers(0, 200), st.integers(-1, 50)), max_size=10))
def test_part_body_reads_and_seeks_like_a_bytes_file(
    chunks: list[bytes], moves: list[tuple[int, int]]
) -> None:
    body, reference = PartBody(list(chunks)), io.BytesIO(b"".join(chunks))
    assert len(body) == len(reference.getvalue())
    for offset, size in moves:
        assert body.seek(offset) == reference.seek(offset)
        assert body.read(size) == reference.read(size)
        assert body.tell() == reference.tell()
    assert body.seek(-3, io.SEEK_END) == max(0, len(body) - 3)


def test_parts_in_flight_shrink_as_parts_grow() -> None:
    assert parts_in_flight(5 * MIB) == 4
    assert parts_in_flight(8 * MIB) == 3
    assert parts_in_flight(16 * MIB) == 1
    assert parts_in_flight(64 * MIB) == 1


def test_part_size_grows_so_that_huge_outputs_fit_ten_thousand_parts() -> None:
    assert part_size_for(8 * MIB, 1024 * MIB) == 8 * MIB
    assert part_size_for(8 * MIB, None) == 8 * MIB
    grown = part_size_for(8 * MIB, 200 * 1024 * MIB)
    assert grown * 10_000 >= 200 * 1024 * MIB > 8 * MIB * 10_000
