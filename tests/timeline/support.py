"""An edit made with OpenTimelineIO, as an editor's NLE would export it."""

from __future__ import annotations

from pathlib import Path

import opentimelineio as otio

RATE = 24
HOUR = 86_400  # 01:00:00:00 at 24 fps
RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange

# (source, first frame used, frames used), frames after the media's 01:00:00:00.
SHOTS = (
    ("A001.mp4", 48, 48),  # A 2.0-4.0 s
    ("B002.mp4", 24, 48),  # B 1.0-3.0 s
    ("A001.mp4", 84, 60),  # A 3.5-6.0 s: overlaps the first shot
    ("C003.mp4", 120, 48),  # C 5.0-7.0 s
    ("A001.mp4", 336, 48),  # A 14.0-16.0 s
)
LENGTHS = {"A001.mp4": 20.0, "B002.mp4": 12.0, "C003.mp4": 10.0}


def clip(folder: Path, source: str, first: int, frames: int) -> otio.schema.Clip:
    media = otio.schema.ExternalReference(
        target_url=(folder / source).resolve().as_uri(),
        available_range=TR(RT(HOUR, RATE), RT(round(LENGTHS[source] * RATE), RATE)),
    )
    used = TR(RT(HOUR + first, RATE), RT(frames, RATE))
    return otio.schema.Clip(name=Path(source).stem, media_reference=media, source_range=used)


def make_edit(folder: Path) -> otio.schema.Timeline:
    """Five shots of three sources on V1, with a gap and a dissolve; an audio track."""
    timeline = otio.schema.Timeline(name="edit")
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    clips = [clip(folder, *shot) for shot in SHOTS]
    video.extend(clips[:2])
    video.append(otio.schema.Gap(source_range=TR(RT(0, RATE), RT(24, RATE))))
    video.append(clips[2])
    video.append(otio.schema.Transition(in_offset=RT(6, RATE), out_offset=RT(6, RATE)))
    video.extend(clips[3:])
    timeline.tracks.append(video)
    timeline.tracks.append(otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio))
    return timeline
