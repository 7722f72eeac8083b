"""CSV and JSONL manifests: one row per clip, every problem collected before any is raised.

Columns: ``source`` (required), and optional ``key``, ``prompt``, ``provider``,
``aspect_ratio``, ``seed``, ``reference_image``. Other columns (an asset manager's ``notes``,
``title``, ``duration``) are ignored with one warning that lists them, unless ``strict_columns``
makes them errors. A column that looks like a misspelt known one (``promt``) is always an error
with a suggestion, so a typo never silently falls back to the batch-wide prompt. Parsing is pure
(bytes in, rows or `ManifestProblems` out); `read_manifest` is the only function that touches
the disk.
"""

from __future__ import annotations

import csv
import difflib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.settings import ProviderName
from jobs.routes import AUTO, RouteError, parse_route, route_text
from producer.seen import SeenLines

COLUMNS: tuple[str, ...] = (
    "source",
    "key",
    "prompt",
    "provider",
    "aspect_ratio",
    "seed",
    "reference_image",
)
MANIFEST_SUFFIXES: dict[str, str] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
MAX_SEED = 4_294_967_295
MISSPELLING_CUTOFF = 0.75
"""How close (difflib's ratio) an unknown column must be to a known one to count as its typo."""


@dataclass(frozen=True)
class EditRange:
    """Frames ``[start, end)`` of a source's timecode at ``rate``: a timeline's shot with its
    handles. ``media_start`` is the timecode of the source's first frame where the timeline
    says it; otherwise the source's own timecode track decides (0 without one)."""

    start: int
    end: int
    rate: float
    media_start: int | None = None
    reel: str | None = None


@dataclass(frozen=True)
class ManifestRow:
    """One clip to edit; ``None`` means "use the batch-wide option".

    ``file`` is where the row came from (the manifest's path or s3 URI, or the clip itself when
    SOURCE is a folder or a prefix), for messages that must say where to fix it.
    """

    line: int
    source: str
    key: str | None = None
    prompt: str | None = None
    provider: str | None = None
    """A provider, a comma-separated list in order of preference, or ``auto``."""
    aspect_ratio: str | None = None
    seed: int | None = None
    reference_image: str | None = None
    file: str | None = None
    place: str | None = None
    """Where in ``file`` the row is when that is not a line: a timeline's track and clip."""
    edit_range: EditRange | None = None
    """Only this range of the source is edited (a timeline's shot); None: all of it."""


@dataclass(frozen=True)
class ManifestError:
    """One problem in a manifest; ``line`` is None when it concerns the whole file.

    A ``warning`` (ignored columns) does not stop the manifest.
    """

    file: str
    line: int | None
    field: str | None
    message: str
    warning: bool = False

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}: row {self.line}"
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


def errors_only(found: Iterable[ManifestError]) -> list[ManifestError]:
    """The problems that stop a manifest (not the warnings)."""
    return [error for error in found if not error.warning]


def warnings_only(found: Iterable[ManifestError]) -> list[ManifestError]:
    """The warnings (ignored columns)."""
    return [error for error in found if error.warning]


class ManifestProblems(Exception):
    """Every problem found in a manifest, raised once at the end of parsing."""

    def __init__(self, errors: Iterable[ManifestError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(error) for error in self.errors))


class _RowError(Exception):
    """One field of one row is wrong (internal: collected into `ManifestError`)."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def manifest_format(name: str) -> str | None:
    """``"csv"`` or ``"jsonl"`` from a file name's suffix, None when it is not a manifest."""
    return MANIFEST_SUFFIXES.get(Path(name).suffix.lower())


MAX_KEPT_ERRORS = 1000
"""Problems a manifest keeps to report (one per row could be a million); the rest are counted."""


@dataclass
class Findings:
    """A manifest's problems and warnings, filled while its rows stream by.

    The first `MAX_KEPT_ERRORS` problems are kept in line order of discovery; ``error_count``
    counts them all. Warnings (ignored columns) are few and all kept.
    """

    kept: int = MAX_KEPT_ERRORS
    errors: list[ManifestError] = field(default_factory=list)
    warnings: list[ManifestError] = field(default_factory=list)
    error_count: int = 0

    def add(self, error: ManifestError) -> None:
        """Record ``error`` (a warning or a problem)."""
        if error.warning:
            self.warnings.append(error)
            return
        self.error_count += 1
        if len(self.errors) < self.kept:
            self.errors.append(error)

    @property
    def all(self) -> list[ManifestError]:
        """Warnings and kept problems, sorted by line (whole-file ones first)."""
        return sorted([*self.errors, *self.warnings], key=lambda e: (e.line or 0, e.field or ""))


def read_manifest(path: Path, strict_columns: bool = False) -> list[ManifestRow]:
    """Parse the manifest at ``path``; raise `ManifestProblems` listing every problem."""
    return parse_manifest(path.read_bytes(), str(path), strict_columns=strict_columns)


def stream_manifest_file(
    path: Path, found: Findings, strict_columns: bool = False, max_bytes: int | None = None
) -> Iterator[ManifestRow]:
    """The good rows of the manifest at ``path``, read a line at a time; problems and warnings
    go to ``found``. A file over ``max_bytes`` is one problem, found before any of it is read."""
    too_large = size_problem(str(path), path.stat().st_size, max_bytes)
    if too_large is not None:
        found.add(too_large)
        return
    with path.open("rb") as handle:
        yield from stream_manifest(handle, str(path), found, strict_columns=strict_columns)


def size_problem(name: str, size: int, max_bytes: int | None) -> ManifestError | None:
    """The error of a manifest of ``size`` bytes over ``max_bytes`` (None: within it)."""
    if max_bytes is None or size <= max_bytes:
        return None
    return ManifestError(
        name,
        None,
        None,
        f"{size:,} bytes is over the manifest limit of {max_bytes:,} bytes"
        " (RESTYLE_MANIFEST_MAX_BYTES); split the library into several manifests",
    )


def parse_manifest(
    data: bytes, name: str, fmt: str | None = None, strict_columns: bool = False
) -> list[ManifestRow]:
    """Parse manifest bytes (format from ``fmt`` or the suffix of ``name``); all or nothing."""
    rows, found = scan_manifest_bytes(data, name, fmt, strict_columns)
    if errors_only(found):
        raise ManifestProblems(errors_only(found))
    return rows


def scan_manifest_bytes(
    data: bytes, name: str, fmt: str | None = None, strict_columns: bool = False
) -> tuple[list[ManifestRow], list[ManifestError]]:
    """Good rows and every problem and warning, sorted by line (whole-file ones first)."""
    found = Findings()
    lines = data.splitlines(keepends=True)
    rows = list(stream_manifest(lines, name, found, fmt, strict_columns))
    return rows, found.all


def stream_manifest(
    lines: Iterable[bytes],
    name: str,
    found: Findings,
    fmt: str | None = None,
    strict_columns: bool = False,
) -> Iterator[ManifestRow]:
    """The good rows of a manifest given as raw lines, one at a time; its problems and
    warnings go to ``found`` as they are met (the ignored-columns warning at the end).

    Memory stays bounded whatever the manifest's size: a line is decoded, parsed and let go;
    repeated keys are found in a table of hashes (`producer.seen`), not of keys.
    """
    fmt = fmt or manifest_format(name)
    if fmt not in ("csv", "jsonl"):
        found.add(ManifestError(name, None, None, "not a .csv or .jsonl manifest"))
        return
    bad_lines: set[int] = set()
    text = _Decoded(lines, name, found, bad_lines)
    ignored: set[str] = set()
    records = (
        _csv_records(text, strict_columns, ignored)
        if fmt == "csv"
        else _jsonl_records(text, strict_columns, ignored)
    )
    rows = 0
    for row in _collect(records, name, found, bad_lines):
        rows += 1
        yield row
    if not rows and not found.error_count:
        empty = not text.seen_text
        message = "the manifest is empty" if empty else "the manifest has no rows"
        found.add(ManifestError(name, None, None, message))
    for warning in _ignored_warning(name, ignored):
        found.add(warning)


class _Decoded:
    """Lines as text, one at a time: each undecodable line is one problem (its bytes are
    replaced and the line's row skipped), never a reason to hold the file whole."""

    def __init__(
        self, lines: Iterable[bytes], name: str, found: Findings, bad_lines: set[int]
    ) -> None:
        self._lines = lines
        self._name = name
        self._found = found
        self._bad = bad_lines
        self.seen_text = False

    def __iter__(self) -> Iterator[str]:
        number = 0
        for chunk in self._lines:
            # A file is read at b"\n"; a lone b"\r" (an old Mac export) ends a line too.
            parts = chunk.splitlines(keepends=True) if b"\r" in chunk[:-2] else (chunk,)
            for raw in parts:
                number += 1
                if number == 1:
                    raw = raw.removeprefix(b"\xef\xbb\xbf")
                yield self._text(number, raw)

    def _text(self, number: int, raw: bytes) -> str:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            message = f"not valid UTF-8 (byte {exc.start + 1} of the line)"
            self._found.add(ManifestError(self._name, number, None, message))
            self._bad.add(number)
            text = raw.decode("utf-8", errors="replace")
        if not self.seen_text and text.strip():
            self.seen_text = True
        return text


Record = tuple[int, Mapping[str, Any] | _RowError]


def _csv_records(text: _Decoded, strict: bool, ignored: set[str]) -> Iterator[Record]:
    reader = csv.reader(iter(text))
    header = [cell.strip() for cell in next(reader, [])]
    if not any(header) and not any(any(cell.strip() for cell in cells) for cells in reader):
        return  # blank through to the end: the manifest is empty
    problems = _header_problems(header, strict)
    if problems:
        yield from ((1, _RowError(field, message)) for field, message in problems)
        return
    ignored.update(column for column in header if column not in COLUMNS)
    previous = reader.line_num
    for cells in reader:
        line, previous = previous + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header):
            yield line, _RowError(None, f"{len(cells)} cells but the header has {len(header)}")
            continue
        yield line, dict(zip(header, cells, strict=False))


def _header_problems(header: list[str], strict: bool) -> list[tuple[str | None, str]]:
    problems: list[tuple[str | None, str]] = []
    if "source" not in header:
        problems.append(("source", "the header has no 'source' column"))
    for column in header:
        problem = _column_problem(column, strict)
        if problem is not None:
            problems.append((column or None, problem))
    duplicated = sorted({column for column in header if header.count(column) > 1})
    problems.extend((column, "the column appears more than once") for column in duplicated)
    return problems


def _column_problem(column: str, strict: bool) -> str | None:
    """Why ``column`` cannot be read: a typo of a known column, or unknown under strict."""
    if column in COLUMNS:
        return None
    near = difflib.get_close_matches(column.lower(), COLUMNS, n=1, cutoff=MISSPELLING_CUTOFF)
    if near:
        return f"unknown column {column!r}: did you mean {near[0]!r}?"
    if strict or not column:
        return f"unknown column {column!r} (--strict-columns); known: {_known()}"
    return None


def _ignored_warning(name: str, ignored: set[str]) -> list[ManifestError]:
    if not ignored:
        return []
    columns = ", ".join(sorted(ignored))
    message = f"ignored unknown column(s): {columns} (--strict-columns refuses them)"
    return [ManifestError(name, None, None, message, warning=True)]


def _jsonl_records(text: _Decoded, strict: bool, ignored: set[str]) -> Iterator[Record]:
    for line, raw in enumerate(text, start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield line, _RowError(None, f"not valid JSON: {exc.msg} at column {exc.colno}")
            continue
        except RecursionError:
            yield line, _RowError(None, "not valid JSON: nested too deeply")
            continue
        if not isinstance(value, dict):
            yield line, _RowError(None, "each line must be a JSON object")
            continue
        unknown = sorted(set(value) - set(COLUMNS))
        refused = [(field, why) for field in unknown if (why := _column_problem(field, strict))]
        if refused:
            yield line, _RowError(*refused[0])
            continue
        ignored.update(unknown)
        yield line, value


def _known() -> str:
    return ", ".join(COLUMNS)


def _collect(
    records: Iterable[Record], name: str, found: Findings, bad_lines: set[int]
) -> Iterator[ManifestRow]:
    """Rows from records, adding each problem (a repeated key included) to ``found``."""
    keys = SeenLines()
    for line, record in records:
        if line in bad_lines:
            continue
        try:
            row = _row(line, record, name)
        except _RowError as exc:
            found.add(ManifestError(name, line, exc.field, exc.message))
            continue
        if row.key is not None and (first := keys.first(row.key, line)) is not None:
            message = f"duplicate key {row.key!r} (first on line {first})"
            found.add(ManifestError(name, line, "key", message))
            continue
        yield row


def _row(line: int, record: Mapping[str, Any] | _RowError, name: str) -> ManifestRow:
    if isinstance(record, _RowError):
        raise record
    source = _text(record, "source")
    if source is None:
        raise _RowError("source", "missing: every row needs a source")
    return ManifestRow(
        line=line,
        file=name,
        source=source,
        key=_key(_text(record, "key")),
        prompt=_text(record, "prompt"),
        provider=_provider(_text(record, "provider")),
        aspect_ratio=_text(record, "aspect_ratio"),
        seed=_seed(record.get("seed")),
        reference_image=_text(record, "reference_image"),
    )


def _text(record: Mapping[str, Any], field: str) -> str | None:
    value = record.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _RowError(field, f"must be a string, got {type(value).__name__}")
    return value.strip() or None


def _key(value: str | None) -> str | None:
    if value is not None and not KEY_PATTERN.fullmatch(value):
        raise _RowError("key", "must be 1-128 of A-Z a-z 0-9 . _ - and start with a letter/digit")
    return value


def _provider(value: str | None) -> str | None:
    """One provider (as a `ProviderName`), a list in order of preference, or ``auto``."""
    if value is None:
        return None
    try:
        route = parse_route(value, ProviderName)
    except RouteError as exc:
        raise _RowError("provider", str(exc)) from None
    if value.strip().lower() == AUTO:
        return AUTO
    return route[0] if len(route) == 1 else route_text(route)


def _seed(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _RowError("seed", f"must be an integer from 0 to {MAX_SEED}")
    try:
        seed = int(value)
    except ValueError:
        raise _RowError("seed", f"must be an integer from 0 to {MAX_SEED}") from None
    if not 0 <= seed <= MAX_SEED:
        raise _RowError("seed", f"must be an integer from 0 to {MAX_SEED}")
    return seed
