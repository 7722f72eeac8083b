"""Is this file a video container with a video track? Read from its structure, without FFmpeg.

The archive asks this of every output before the object is completed (`storage.archive`). It
is pure Python on purpose: loading PyAV's libraries costs an archive worker about 18 MB of
memory, which the archive's memory bound cannot spare (docs/performance.md), and it keeps
FFmpeg's demuxers away from bytes nobody has checked yet.

- ISO base media (MP4, QuickTime): the top-level boxes must tile the file exactly, and ``moov``
  must hold a ``trak`` whose ``mdia/hdlr`` handler is ``vide``, with an ``mdat`` somewhere.
- Matroska and WebM: an EBML header whose DocType is ``matroska`` or ``webm``, then a Segment
  whose ``Tracks`` hold a TrackEntry of TrackType 1 (video).

`video_problem` returns why a file is not such a video, or None.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

MAX_BOXES = 100_000
"""More top-level boxes than any real output has: a file of tiny boxes is refused, not walked."""
MAX_META_BYTES = 64 * 1024 * 1024
"""The largest ``moov`` (or Matroska Tracks) read into memory."""
EBML_HEADER, SEGMENT, TRACKS, TRACK_ENTRY, TRACK_TYPE, DOC_TYPE = (
    0x1A45DFA3, 0x18538067, 0x1654AE6B, 0xAE, 0x83, 0x4282,
)  # fmt: skip
VIDEO_TRACK = 1


class Readable(Protocol):
    """A file, or an in-memory ``moov``, read at given positions."""

    def seek(self, position: int, whence: int = 0, /) -> int: ...
    def read(self, count: int = -1, /) -> bytes: ...


class NotAVideo(Exception):
    """Why the bytes are not a video container with a video track."""


def video_problem(path: Path) -> str | None:
    """Why the file at ``path`` is not an MP4/QuickTime/Matroska video, or None when it is."""
    size = path.stat().st_size
    with path.open("rb") as file:
        head = file.read(12)
        file.seek(0)
        try:
            if head[:4] == struct.pack(">I", EBML_HEADER):
                _check_matroska(file, size)
            else:
                _check_iso(file, size)
        except NotAVideo as exc:
            return str(exc)
    return None


# ISO base media --------------------------------------------------------------------------


def _iso_boxes(data: Readable, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) of each box between ``start`` and ``end``, which they must
    tile exactly."""
    position, count = start, 0
    while position < end:
        count += 1
        if count > MAX_BOXES:
            raise NotAVideo(f"more than {MAX_BOXES} boxes")
        data.seek(position)
        header = data.read(8)
        if len(header) < 8:
            raise NotAVideo(f"a box header is cut short at byte {position}")
        size, kind = struct.unpack(">I4s", header)
        payload = position + 8
        if size == 1:
            large = data.read(8)
            if len(large) < 8:
                raise NotAVideo(f"a box header is cut short at byte {position}")
            size, payload = struct.unpack(">Q", large)[0], position + 16
        elif size == 0:
            size = end - position
        if size < payload - position or position + size > end:
            raise NotAVideo(f"box {kind!r} at byte {position} does not fit the file")
        yield kind, payload, position + size
        position += size


def _check_iso(file: Readable, size: int) -> None:
    kinds: dict[bytes, tuple[int, int]] = {}
    for kind, payload, end in _iso_boxes(file, 0, size):
        kinds.setdefault(kind, (payload, end))
    if b"moov" not in kinds:
        raise NotAVideo("no MP4 or QuickTime movie header (moov)")
    if b"mdat" not in kinds:
        raise NotAVideo("no media data (mdat)")
    start, end = kinds[b"moov"]
    if end - start > MAX_META_BYTES:
        raise NotAVideo("the movie header is implausibly large")
    file.seek(start)
    moov = _Bytes(file.read(end - start))
    for kind, trak, trak_end in _iso_boxes(moov, 0, moov.size):
        if kind == b"trak" and _handler(moov, trak, trak_end) == b"vide":
            return
    raise NotAVideo("no video track")


def _handler(moov: _Bytes, start: int, end: int) -> bytes | None:
    for kind, mdia, mdia_end in _iso_boxes(moov, start, end):
        if kind != b"mdia":
            continue
        for inner, payload, inner_end in _iso_boxes(moov, mdia, mdia_end):
            if inner == b"hdlr" and inner_end - payload >= 12:
                return moov.data[payload + 8 : payload + 12]
    return None


class _Bytes:
    """A bytes object read like a file (for boxes nested in an in-memory ``moov``)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.size, self._position = data, len(data), 0

    def seek(self, position: int, whence: int = 0, /) -> int:
        self._position = position
        return position

    def read(self, count: int = -1, /) -> bytes:
        piece = self.data[self._position : self._position + count]
        self._position += len(piece)
        return piece


# Matroska --------------------------------------------------------------------------------


def _vint(data: Readable, keep_marker: bool) -> tuple[int, int, bool]:
    """An EBML variable-length integer: its value, its length and whether it is "unknown"."""
    first = data.read(1)
    if not first:
        raise NotAVideo("an EBML element is cut short")
    length = 9 - first[0].bit_length()
    if length > 8:
        raise NotAVideo("an EBML length is malformed")
    rest = data.read(length - 1)
    if len(rest) < length - 1:
        raise NotAVideo("an EBML element is cut short")
    marker = 1 << (8 - length)
    value = first[0] if keep_marker else first[0] & (marker - 1)
    for byte in rest:
        value = (value << 8) | byte
    unknown = not keep_marker and value == (1 << (7 * length)) - 1
    return value, length, unknown


def _elements(data: Readable, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(id, payload start, element end) of each EBML element between ``start`` and ``end``."""
    position, count = start, 0
    while position < end:
        count += 1
        if count > MAX_BOXES:
            raise NotAVideo(f"more than {MAX_BOXES} elements")
        data.seek(position)
        element, id_length, _ = _vint(data, keep_marker=True)
        size, size_length, unknown = _vint(data, keep_marker=False)
        payload = position + id_length + size_length
        element_end = end if unknown else payload + size
        if element_end > end:
            raise NotAVideo(f"EBML element {element:#x} does not fit the file")
        yield element, payload, element_end
        position = element_end


def _check_matroska(file: Readable, size: int) -> None:
    top = list(_elements(file, 0, size))
    header = next(((p, e) for i, p, e in top if i == EBML_HEADER), None)
    segment = next(((p, e) for i, p, e in top if i == SEGMENT), None)
    if header is None or segment is None:
        raise NotAVideo("no Matroska header and segment")
    doc_type = next((_read(file, p, e) for i, p, e in _elements(file, *header) if i == DOC_TYPE),
                    b"")  # fmt: skip
    if doc_type.rstrip(b"\0") not in (b"matroska", b"webm"):
        raise NotAVideo("not a Matroska or WebM document")
    for element, payload, end in _elements(file, *segment):
        if element != TRACKS:
            continue
        for entry, entry_start, entry_end in _elements(file, payload, end):
            if entry != TRACK_ENTRY:
                continue
            for field, field_start, field_end in _elements(file, entry_start, entry_end):
                value = _read(file, field_start, field_end)
                if field == TRACK_TYPE and int.from_bytes(value, "big") == VIDEO_TRACK:
                    return
    raise NotAVideo("no video track")


def _read(file: Readable, start: int, end: int) -> bytes:
    if end - start > MAX_META_BYTES:
        raise NotAVideo("an EBML element is implausibly large")
    file.seek(start)
    return file.read(end - start)
