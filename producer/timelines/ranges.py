"""The ranges of sources an edit uses, with handles, merged per source (pure, no I/O).

Everything is counted in frames of the source's timecode at the timeline's rate for that clip,
so a range is exact to the frame. A shot gets ``handles`` frames each side (an editor trims and
dissolves into them), clamped to the media where the timeline knows its extent. Ranges of one
source that overlap, or leave a gap of at most ``merge_gap`` frames, become one range: a shot
used twice is paid once, and a run of a few unused frames costs less than another minimum-length
render would.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

HANDLES = 12
"""Frames added each side of a shot: half a second at 24 fps, what conform practice asks."""
MERGE_GAP_S = 1.0
"""Ranges of one source closer than this are edited as one (see the module doc)."""

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
TIMELINE_SUFFIXES = (".otio", ".edl", ".xml")


def is_timeline_name(name: str) -> bool:
    """True for a file name a timeline is read from (OTIO, CMX 3600 EDL, FCP7 XML)."""
    return name.lower().endswith(TIMELINE_SUFFIXES)


@dataclass(frozen=True)
class TimelineChoices:
    """``restyle submit``'s timeline options."""

    handles: int = HANDLES
    merge_gap_s: float = MERGE_GAP_S
    media_path: tuple[str, ...] = ()
    """Folders and ``s3://`` prefixes where the timeline's media is looked for, by file name."""


@dataclass(frozen=True)
class Shot:
    """One video clip of a timeline: frames ``[start, end)`` of ``source``'s timecode.

    ``media`` is the source's extent ``[first, end)`` in the same frames where the timeline
    says it (OTIO, FCP XML); an EDL does not, and the source's own timecode decides later.
    """

    track: str
    index: int
    name: str
    source: str
    start: int
    end: int
    rate: float
    media: tuple[int, int] | None = None
    reel: str | None = None
    clip: object | None = field(default=None, compare=False, repr=False)
    """The timeline's own clip object, to mark with its item (opaque here)."""

    @property
    def place(self) -> str:
        """Where the shot is, for messages: ``track V1, clip 3 (name)``."""
        return shot_place(self.track, self.index, self.name)


def shot_place(track: str, index: int, name: str) -> str:
    """``track V1, clip 3 (name)``: a clip of a timeline, as an editor finds it."""
    named = f" ({name})" if name else ""
    return f"track {track}, clip {index}{named}"


@dataclass(frozen=True)
class SourceRange:
    """One range of one source to edit, and the shots it serves."""

    source: str
    start: int
    end: int
    rate: float
    media: tuple[int, int] | None
    reel: str | None
    shots: tuple[Shot, ...]

    @property
    def frames(self) -> int:
        return self.end - self.start

    @property
    def item(self) -> str:
        """The item key: the source's file name stem and the range's timecodes."""
        return item_key(self.source, self.start, self.end, self.rate)


def with_handles(shot: Shot, handles: int) -> tuple[int, int]:
    """The shot's range widened by ``handles`` frames each side, within its media when known."""
    start, end = shot.start - handles, shot.end + handles
    if shot.media is not None:
        start, end = max(start, shot.media[0]), min(end, shot.media[1])
    return start, end


def merge_ranges(shots: Iterable[Shot], handles: int, merge_gap: int) -> list[SourceRange]:
    """The ranges to edit: every shot with its handles, merged per source and rate.

    Ranges are returned in the order of their sources' first use in ``shots``, then by time.
    """
    groups: dict[tuple[str, float], list[Shot]] = {}
    for shot in shots:
        groups.setdefault((shot.source, shot.rate), []).append(shot)
    merged: list[SourceRange] = []
    for group in groups.values():
        merged.extend(_merged(group, handles, merge_gap))
    return merged


def _merged(shots: Sequence[Shot], handles: int, merge_gap: int) -> list[SourceRange]:
    spans = sorted(((*with_handles(shot, handles), shot) for shot in shots), key=_by_start)
    ranges: list[SourceRange] = []
    start, end, members = spans[0][0], spans[0][1], [spans[0][2]]
    for first, last, shot in spans[1:]:
        if first <= end + merge_gap:
            end, members = max(end, last), [*members, shot]
            continue
        ranges.append(_range(start, end, members))
        start, end, members = first, last, [shot]
    ranges.append(_range(start, end, members))
    return ranges


def _by_start(span: tuple[int, int, Shot]) -> tuple[int, int]:
    return span[0], span[1]


def _range(start: int, end: int, shots: Sequence[Shot]) -> SourceRange:
    first = shots[0]
    reel = next((shot.reel for shot in shots if shot.reel), None)
    return SourceRange(first.source, start, end, first.rate, first.media, reel, tuple(shots))


def drop_frame(rate: float) -> bool:
    """True for the NTSC rates (29.97, 59.94) whose timecode drops frame numbers to keep time."""
    base = round(rate)
    return base in (30, 60) and abs(rate - base) > 0.01


def timecode(frames: int, rate: float) -> str:
    """``frames`` of timecode at ``rate`` as ``HH:MM:SS:FF``; drop-frame ``HH:MM:SS;FF`` at
    29.97 and 59.94 (numbers 0 and 1, or 0-3, skipped each minute but every tenth), as an
    NLE writes it."""
    base = round(rate)
    frames = max(0, frames)
    separator = ":"
    if drop_frame(rate):
        drop = base // 15
        tens, rest = divmod(frames, base * 600 - drop * 9)
        skipped = drop * 9 * tens + (
            drop * ((rest - drop) // (base * 60 - drop)) if rest > drop else 0
        )
        frames, separator = frames + skipped, ";"
    seconds, frame = divmod(frames, base)
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours % 24:02d}:{minute:02d}:{second:02d}{separator}{frame:02d}"


def parse_timecode(text: str, rate: float) -> int | None:
    """Frames of an ``HH:MM:SS:FF`` timecode at ``rate`` (``;FF`` is drop-frame at 29.97 and
    59.94); None when malformed."""
    match = re.fullmatch(r"(\d{1,2}):(\d{2}):(\d{2})([:;.])(\d{2})", text.strip())
    if match is None:
        return None
    hours, minutes, seconds, frames = (int(match.group(i)) for i in (1, 2, 3, 5))
    base = round(rate)
    if minutes > 59 or seconds > 59 or frames >= base:
        return None
    count = ((hours * 60 + minutes) * 60 + seconds) * base + frames
    if match.group(4) != ":" and drop_frame(rate):
        drop = base // 15
        total_minutes = hours * 60 + minutes
        count -= drop * (total_minutes - total_minutes // 10)
    return count


def item_key(source: str, start: int, end: int, rate: float) -> str:
    """``<stem>_<HHMMSSFF>-<HHMMSSFF>``: a key an editor reads as the shot it came from."""
    stem = PurePosixPath(source.rstrip("/")).stem or "source"
    stem = _UNSAFE.sub("_", stem).strip("._-") or "source"
    span = f"{_compact(timecode(start, rate))}-{_compact(timecode(end, rate))}"
    return f"{stem[: 127 - len(span) - 1]}_{span}"


def _compact(code: str) -> str:
    return code.replace(":", "").replace(";", "")


@dataclass(frozen=True)
class ResolvedRange:
    """A range placed in its source: from ``start_s`` for ``seconds``; ``timecode`` of its
    first frame."""

    start_s: float
    seconds: float
    timecode: str
    reel: str | None = None


def resolve_range(
    start: int,
    end: int,
    rate: float,
    media_start: int,
    duration_s: float,
    min_seconds: float = 0.0,
) -> ResolvedRange | str:
    """Timecode frames ``[start, end)`` placed in a source whose first frame is
    ``media_start`` and which lasts ``duration_s``; a message when they miss it.

    The range is clamped to the source, and widened (later frames first) to ``min_seconds``
    when the model cannot edit less: a one-second shot is still paid for as the minimum.
    """
    total = round(duration_s * rate)
    first, last = start - media_start, end - media_start
    if last <= 0 or first >= total:
        return (
            f"{timecode(start, rate)}-{timecode(end, rate)} is outside the source"
            f" ({timecode(media_start, rate)}-{timecode(media_start + total, rate)})"
        )
    first, last = max(0, first), min(total, last)
    short = round(min_seconds * rate + 0.4999) - (last - first)
    if short > 0:
        grown = min(total, last + short)
        first, last = max(0, first - (short - (grown - last))), grown
    return ResolvedRange(first / rate, (last - first) / rate, timecode(media_start + first, rate))


@dataclass(frozen=True)
class EditSavings:
    """What editing only an edit's ranges costs, against editing its sources whole."""

    ranges: int
    sources: int
    billed_s: float
    cost_usd: float
    whole_billed_s: float
    whole_cost_usd: float

    @property
    def saved_fraction(self) -> float:
        """The share of the whole-source cost the ranges do not spend."""
        if self.whole_cost_usd <= 0:
            return 0.0
        return 1 - self.cost_usd / self.whole_cost_usd
