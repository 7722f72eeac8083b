"""Timelines as input: an OTIO, CMX 3600 EDL or FCP7 XML edit becomes one row per used range.

Each video clip's source and used range (`producer.timelines.ranges`) is read with
OpenTimelineIO and its adapters; a source used several times, or in ranges that nearly touch,
is one row. Gaps, generators and audio tracks are skipped with one note each kind; a
transition widens its neighbours' ranges by the media it dissolves through. Media references
resolve against the timeline's folder and a search path of folders and ``s3://`` prefixes; a
reference that resolves nowhere is an error naming the track and the clip, and nothing is
queued.

The timeline is kept, each clip marked with its row's item, so `restyle timeline` can hand it
back with the restyled media (`producer.timelines.export`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import opentimelineio as otio
from botocore.exceptions import BotoCoreError, ClientError

from producer.manifest import EditRange, ManifestError, ManifestRow
from producer.timelines.ranges import (
    Shot,
    SourceRange,
    TimelineChoices,
    merge_ranges,
    shot_place,
)
from storage.object_keys import join_key, parse_s3_uri

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

TIMELINE_ADAPTERS: dict[str, str] = {".otio": "otio_json", ".edl": "cmx_3600", ".xml": "fcp_xml"}
VIDEO_SUFFIXES = (".mov", ".mp4", ".mxf", ".m4v", ".mkv", ".webm")
MARK = "restyle"
"""The metadata namespace a clip's item is kept under in the stored timeline."""


@dataclass(frozen=True)
class TimelineRows:
    """The rows a timeline stands for, its problems and notes, and the marked timeline."""

    rows: list[ManifestRow]
    errors: list[ManifestError]
    marked: str
    """The timeline as OTIO JSON, each used clip's metadata naming its item."""


def timeline_adapter(name: str) -> str | None:
    """The OTIO adapter for a timeline file name, None when it is not a timeline."""
    return TIMELINE_ADAPTERS.get(PurePosixPath(name).suffix.lower())


def read_timeline(path: Path, choices: TimelineChoices, s3: S3Client | None = None) -> TimelineRows:
    """The rows of the timeline at ``path`` (local); see the module doc."""
    adapter = timeline_adapter(path.name) or "otio_json"
    name = str(path)
    try:
        timeline = otio.adapters.read_from_file(str(path), adapter_name=adapter)
    except Exception as exc:
        error = ManifestError(name, None, None, f"cannot read the timeline: {exc}")
        return TimelineRows([], [error], "")
    if not isinstance(timeline, otio.schema.Timeline):
        error = ManifestError(name, None, None, "holds no timeline")
        return TimelineRows([], [error], "")
    search = Search((str(path.parent), *choices.media_path), s3)
    return rows_of(timeline, name, choices, search)


def rows_of(
    timeline: otio.schema.Timeline, name: str, choices: TimelineChoices, search: Search
) -> TimelineRows:
    """The rows of a parsed ``timeline`` (``name`` for messages)."""
    shots, errors = _shots(timeline, name, search)
    ranges: list[SourceRange] = []
    for rate in sorted({shot.rate for shot in shots}):
        gap = round(choices.merge_gap_s * rate)
        ranges.extend(merge_ranges([s for s in shots if s.rate == rate], choices.handles, gap))
    rows = [_row(index, item, name) for index, item in enumerate(ranges, start=1)]
    _mark(timeline, ranges)
    marked = otio.adapters.write_to_string(timeline, "otio_json")
    return TimelineRows(rows, errors, marked)


def _row(line: int, item: SourceRange, name: str) -> ManifestRow:
    more = len(item.shots) - 1
    place = item.shots[0].place + (f" and {more} more" if more else "")
    media_start = item.media[0] if item.media is not None else None
    edit = EditRange(item.start, item.end, item.rate, media_start, item.reel)
    return ManifestRow(
        line=line, source=item.source, key=item.item, file=name, place=place, edit_range=edit
    )


def _mark(timeline: otio.schema.Timeline, ranges: Sequence[SourceRange]) -> None:
    items = {id(shot.clip): item.item for item in ranges for shot in item.shots if shot.clip}
    for clip in timeline.find_clips():
        if id(clip) in items:
            clip.metadata[MARK] = {"item": items[id(clip)]}


@dataclass(frozen=True)
class _Found:
    shot: Shot | None = None
    error: str | None = None
    note: str | None = None


def _shots(
    timeline: otio.schema.Timeline, name: str, search: Search
) -> tuple[list[Shot], list[ManifestError]]:
    shots: list[Shot] = []
    errors: list[ManifestError] = []
    notes: dict[str, int] = {}
    for track in timeline.tracks:
        if track.kind != otio.schema.TrackKind.Video:
            notes["audio tracks"] = notes.get("audio tracks", 0) + 1
            continue
        for found in _track_shots(track, search):
            if found.shot is not None:
                shots.append(found.shot)
            elif found.error is not None:
                errors.append(ManifestError(name, None, "source", found.error))
            elif found.note is not None:
                notes[found.note] = notes.get(found.note, 0) + 1
    errors.extend(
        ManifestError(name, None, None, f"skipped {count} {what}", warning=True)
        for what, count in sorted(notes.items())
    )
    if not shots and not [e for e in errors if not e.warning]:
        errors.append(ManifestError(name, None, None, "the timeline has no video clips"))
    return shots, errors


def _track_shots(track: otio.schema.Track, search: Search) -> Iterator[_Found]:
    children = list(track)
    widen = _transition_media(children)
    index = 0
    for position, child in enumerate(children):
        if isinstance(child, otio.schema.Gap):
            yield _Found(note="gaps")
        elif isinstance(child, otio.schema.Transition):
            yield _Found(note="transitions (their media is added to their clips)")
        elif isinstance(child, otio.schema.Clip):
            index += 1
            yield _clip_shot(child, track.name or "V?", index, search, widen.get(position))
        else:
            yield _Found(note="nested stacks and other items")


def _transition_media(children: Sequence[Any]) -> dict[int, tuple[int, int]]:
    """Frames each clip needs beyond its range for the transitions beside it (before, after)."""
    extra: dict[int, tuple[int, int]] = {}
    for position, child in enumerate(children):
        if not isinstance(child, otio.schema.Transition):
            continue
        before, after = position - 1, position + 1
        if before >= 0:
            head, tail = extra.get(before, (0, 0))
            extra[before] = (head, tail + round(child.out_offset.value))
        if after < len(children):
            head, tail = extra.get(after, (0, 0))
            extra[after] = (head + round(child.in_offset.value), tail)
    return extra


def _clip_shot(
    clip: otio.schema.Clip,
    track: str,
    index: int,
    search: Search,
    widen: tuple[int, int] | None,
) -> _Found:
    reference = clip.media_reference
    if isinstance(reference, otio.schema.GeneratorReference):
        return _Found(note="generators (titles, colour mattes)")
    place = shot_place(track, index, clip.name)
    used = clip.source_range or clip.available_range()
    if used is None:
        return _Found(error=f"{place}: the clip has no range")
    source = search.resolve(_names(clip))
    if source is None:
        wanted = " or ".join(_names(clip)) or "its media"
        return _Found(error=f"{place}: {wanted} not found in {search.describe()}")
    rate = used.start_time.rate
    start = round(used.start_time.value)
    end = start + round(used.duration.rescaled_to(rate).value)
    head, tail = widen or (0, 0)
    shot = Shot(
        track=track,
        index=index,
        name=clip.name,
        source=source,
        start=start - head,
        end=end + tail,
        rate=rate,
        media=_media(reference, rate),
        reel=_reel(clip),
        clip=clip,
    )
    return _Found(shot=shot)


def _media(reference: Any, rate: float) -> tuple[int, int] | None:
    available = getattr(reference, "available_range", None)
    if available is None:
        return None
    first = round(available.start_time.rescaled_to(rate).value)
    return first, first + round(available.duration.rescaled_to(rate).value)


def _edl(clip: otio.schema.Clip) -> Mapping[str, Any]:
    """What the CMX 3600 adapter kept of the clip's event (empty for other formats)."""
    found = clip.metadata.get("cmx_3600")
    return found if isinstance(found, Mapping) else {}


def _reel(clip: otio.schema.Clip) -> str | None:
    reel = _edl(clip).get("reel")
    return str(reel) if reel else None


def _names(clip: otio.schema.Clip) -> list[str]:
    """Where the clip's media may be, most specific first: its URL, then its reel's file.

    In an EDL a dissolve's incoming clip is named by a ``TO CLIP:`` comment, and the CMX
    adapter gives that clip the outgoing clip's media reference: the comment wins.
    """
    names: list[str] = []
    comments = _edl(clip).get("comments", [])
    incoming = [str(c).split(":", 1)[1].strip() for c in comments if str(c).startswith("TO CLIP:")]
    target = getattr(clip.media_reference, "target_url", None)
    names.extend(incoming or ([str(target)] if target else []))
    reel = _reel(clip)
    if reel:
        names.extend(f"{reel}{suffix}" for suffix in VIDEO_SUFFIXES)
    return names


def _path_of(url: str) -> str:
    if url.startswith("file:"):
        return unquote(urlparse(url).path)
    return url


class Search:
    """Where a timeline's media references are looked for: as written, then by file name in
    each folder and ``s3://`` prefix of ``places``."""

    def __init__(self, places: Sequence[str], s3: S3Client | None) -> None:
        self.places = tuple(places)
        self.s3 = s3

    def describe(self) -> str:
        return ", ".join(self.places) or "the timeline's folder"

    def resolve(self, names: Sequence[str]) -> str | None:
        """The first of ``names`` found: a path, an ``s3://`` URI or an ``https://`` URL."""
        for name in names:
            found = self._one(name)
            if found is not None:
                return found
        return None

    def _one(self, name: str) -> str | None:
        if name.startswith(("https://", "http://", "s3://")):
            return name
        path = Path(_path_of(name))
        if path.is_absolute() and path.is_file():
            return str(path)
        for place in self.places:
            found = self._in(place, path.name)
            if found is not None:
                return found
        return None

    def _in(self, place: str, filename: str) -> str | None:
        if not place.startswith("s3://"):
            candidate = Path(place) / filename
            return str(candidate.resolve()) if candidate.is_file() else None
        if self.s3 is None:
            return None
        bucket, prefix = parse_s3_uri(place)
        key = join_key(prefix, filename)
        try:
            self.s3.head_object(Bucket=bucket, Key=key)
        except (ClientError, BotoCoreError):
            return None
        return f"s3://{bucket}/{key}"
