"""The pure checks of one manifest row: options, provider limits, the request, its item key.

Each check returns ``(field, message)`` pairs; `producer.preflight` adds the row and source.
Field names are the manifest's column names, so a problem points at a cell the user can edit.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from pydantic import ValidationError

from config.catalogue import ProviderSpec
from config.settings import ProviderName
from jobs.request import EditRequest
from jobs.routes import Policy, RouteError, parse_route
from producer.manifest import ManifestRow

FieldProblem = tuple[str | None, str]

REQUEST_TO_COLUMN: dict[str, str] = {
    "video_url": "source",
    "reference_image_url": "reference_image",
}
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")
_LINE_WHITESPACE = re.compile(r" *[\t\n\r\v\f\x85\u2028\u2029][\s]*")
"""Whitespace that only breaks lines: harmless in a prompt once it is a plain space."""
_CONTROL_NAMES = {0: "NUL", 0x1B: "ESC", 0x7F: "DEL", 0x08: "BS", 0x07: "BEL"}


@dataclass(frozen=True)
class Problem:
    """One reason a row cannot run, with where to fix it.

    ``file`` is the manifest (local path or s3 URI), or the clip itself for a folder or a
    prefix; ``row`` is the manifest line.
    """

    row: int | None
    source: str | None
    field: str | None
    message: str
    file: str | None = None
    place: str | None = None
    """Where in ``file``, when that is not a row (a timeline's track and clip)."""

    def __str__(self) -> str:
        where = "batch" if self.row is None else f"row {self.row}"
        if self.place:
            where = self.place
        if self.file:
            where = f"{self.file}: {where}"
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


@dataclass(frozen=True)
class BatchDefaults:
    """The batch-wide options a row falls back to when its own cell is empty."""

    prompt: str | None = None
    provider: str | None = None
    """A provider, a comma-separated list in order of preference, or ``auto``."""
    aspect_ratio: str | None = None
    seed: int | None = None
    reference_image: str | None = None
    policy: Policy = Policy.CHEAPEST
    max_price_per_second: float | None = None


@dataclass(frozen=True)
class RowOptions:
    """A row's options after falling back to the batch defaults."""

    provider: ProviderName
    prompt: str
    aspect_ratio: str | None
    seed: int | None
    reference_image: str | None
    route: tuple[ProviderName, ...] = ()
    """Every provider the row may run on, in order (empty: ``provider`` alone)."""

    @property
    def candidates(self) -> tuple[ProviderName, ...]:
        """The providers the row may run on."""
        return self.route or (self.provider,)


def merge_options(
    row: ManifestRow,
    defaults: BatchDefaults,
    configured: Iterable[ProviderName] = tuple(ProviderName),
) -> RowOptions | list[FieldProblem]:
    """The row's options, or what is missing (prompt and provider have no default).

    ``configured``: the providers with an API key, which ``auto`` stands for.
    """
    spec = row.provider or defaults.provider
    prompt = row.prompt or defaults.prompt
    problems: list[FieldProblem] = []
    route: tuple[ProviderName, ...] = ()
    if spec is None:
        problems.append(("provider", "missing: set it in the row or pass --provider"))
    else:
        try:
            route = parse_route(spec, configured)
        except RouteError as exc:
            problems.append(("provider", str(exc)))
    if prompt is None:
        problems.append(("prompt", "missing: set it in the row or pass --prompt"))
    else:
        prompt = normal_whitespace(prompt)
        problems.extend(("prompt", message) for message in control_problems(prompt))
    if not route or prompt is None or problems:
        return problems
    return RowOptions(
        provider=route[0],
        route=route if len(route) > 1 else (),
        prompt=prompt,
        aspect_ratio=row.aspect_ratio or defaults.aspect_ratio,
        seed=row.seed if row.seed is not None else defaults.seed,
        reference_image=row.reference_image or defaults.reference_image,
    )


def normal_whitespace(text: str) -> str:
    """``text`` with each run of tabs, line breaks and line separators made one space."""
    return _LINE_WHITESPACE.sub(" ", text).strip()


def control_problems(text: str) -> list[str]:
    """A message naming the first control character (NUL, ESC, DEL, ...) left in ``text``."""
    for position, char in enumerate(text, start=1):
        if unicodedata.category(char) == "Cc":
            name = unicodedata.name(char, "") or _CONTROL_NAMES.get(ord(char), "control")
            return [
                f"contains the control character U+{ord(char):04X} ({name}) at character "
                f"{position}; providers refuse or mangle it: remove it"
            ]
    return []


def limit_problems(
    spec: ProviderSpec, container: str, duration_s: float, size_bytes: int | None
) -> list[FieldProblem]:
    """How a probed source breaks ``spec``'s input limits (size, container, duration)."""
    limits = spec.limits
    provider = spec.name.value
    problems: list[FieldProblem] = []
    if size_bytes is not None and size_bytes > limits.max_bytes:
        size = f"{size_bytes / 2**20:.1f} MiB"
        problems.append(("source", f"{size} exceeds {provider}'s {limits.max_bytes >> 20} MiB"))
    if container not in limits.containers:
        allowed = ", ".join(limits.containers)
        problems.append(("source", f"{container} is not accepted by {provider}; use {allowed}"))
    if duration_s > limits.max_source_seconds:
        problems.append(
            ("source", f"{duration_s:.1f} s exceeds {provider}'s {limits.max_source_seconds:g} s")
        )
    return problems


def build_request(video_url: str, options: RowOptions) -> EditRequest | list[FieldProblem]:
    """The `EditRequest`, or its validation errors named by manifest column."""
    try:
        return EditRequest.model_validate(
            {
                "video_url": video_url,
                "prompt": options.prompt,
                "aspect_ratio": options.aspect_ratio,
                "seed": options.seed,
                "reference_image_url": options.reference_image,
            }
        )
    except ValidationError as exc:
        return [(column_of(str(error["loc"][0])), error["msg"]) for error in exc.errors()]


def column_of(request_field: str | None) -> str | None:
    """The manifest column an `EditRequest` field comes from."""
    if request_field is None:
        return None
    return REQUEST_TO_COLUMN.get(request_field, request_field)


def item_key(row: ManifestRow, options: RowOptions) -> str:
    """The row's key, or a readable, stable name: the source's stem and a hash of the edit."""
    if row.key is not None:
        return row.key
    identity = {
        "source": row.source,
        "provider": ",".join(name.value for name in options.candidates),
        "prompt": options.prompt,
        "aspect_ratio": options.aspect_ratio,
        "seed": options.seed,
        "reference_image": options.reference_image,
    }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
    stem = _SLUG.sub("_", _stem(row.source)).strip("._")[:40] or "item"
    return f"{stem}-{digest}"


def output_stem(row: ManifestRow) -> str:
    """The name the row's output is stored under (without ``.mp4``): its key, or the source's
    own file name, so the output drops into a project beside it."""
    if row.key is not None:
        return row.key
    return _SLUG.sub("_", _stem(row.source)).strip("._")[:120] or "item"


def _stem(source: str) -> str:
    path = urlsplit(source).path if "://" in source else source
    return PurePosixPath(path.replace("\\", "/")).stem
