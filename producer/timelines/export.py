"""Timelines as output: the submitted edit handed back with each shot's restyled media.

The timeline kept at submit time (`producer.timelines.reading`) marks every used clip with its item.
Each item's clip record says where its output is, which frames of the source it covers and the
timecode of its first frame; that timecode is written into the output too. So the restyled
media is given an available range in the same timecode as the original's, and every clip's
in and out points land on the same frames without being moved: the handles are simply media
the edit does not use.

By default the restyled media is added as a second media reference and made active (OTIO
keeps both, so an editor can switch back); ``replace`` keeps only the restyled one, which is
what EDL and FCP7 XML can carry. A clip whose item did not end STORED keeps its original media
and gets a red marker that says why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import opentimelineio as otio

from jobs.clips.record import Clip, ClipState
from producer.timelines.ranges import parse_timecode
from producer.timelines.reading import MARK, timeline_adapter
from storage.object_keys import parse_s3_uri
from storage.objects import StoredObject

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

RESTYLED = "restyled"
"""The media reference key of the restyled media, next to OTIO's ``DEFAULT_MEDIA``."""

MediaUrl = Callable[[StoredObject], str]


@dataclass(frozen=True)
class Exported:
    """How many of the timeline's marked clips got restyled media, and which did not."""

    restyled: int
    kept: list[str]


def load_timeline(s3: S3Client, uri: str) -> otio.schema.Timeline:
    """The marked timeline kept at ``uri``."""
    bucket, key = parse_s3_uri(uri)
    text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    return otio.adapters.read_from_string(text, "otio_json")


def restyle_timeline(
    timeline: otio.schema.Timeline,
    clips: Mapping[str, Clip],
    media_url: MediaUrl,
    *,
    replace: bool = False,
) -> Exported:
    """Point each marked clip of ``timeline`` at its item's output (``clips`` by item); in
    place. See the module doc."""
    restyled, kept = 0, []
    for clip in timeline.find_clips():
        mark = clip.metadata.get(MARK)
        item = mark.get("item") if isinstance(mark, Mapping) else None
        if item is None:
            continue
        record = clips.get(str(item))
        reference = _restyled_reference(clip, record, media_url)
        if reference is None:
            kept.append(str(item))
            _mark_unrestyled(clip, record)
            continue
        restyled += 1
        if replace:
            clip.media_reference = reference
        else:
            references = dict(clip.media_references())
            references[RESTYLED] = reference
            clip.set_media_references(references, RESTYLED)
    return Exported(restyled, kept)


def _restyled_reference(
    clip: otio.schema.Clip, record: Clip | None, media_url: MediaUrl
) -> otio.schema.ExternalReference | None:
    if record is None or record.state is not ClipState.STORED or record.output is None:
        return None
    used = clip.source_range or clip.available_range()
    rate = used.start_time.rate
    first = parse_timecode(record.timecode or "", rate)
    if first is None:
        return None
    frames = round(record.edit_seconds * rate)
    available = otio.opentime.TimeRange(
        otio.opentime.RationalTime(first, rate), otio.opentime.RationalTime(frames, rate)
    )
    return otio.schema.ExternalReference(
        target_url=media_url(record.output),
        available_range=available,
        metadata={MARK: {"item": record.item, "batch": record.batch, "clip": record.id}},
    )


def _mark_unrestyled(clip: otio.schema.Clip, record: Clip | None) -> None:
    state = "not submitted" if record is None else record.state.value
    why = (record.failure_message if record is not None else None) or state
    clip.metadata[MARK] = {**dict(clip.metadata[MARK]), "state": state}
    used = clip.source_range or clip.available_range()
    marker = otio.schema.Marker(
        name=f"restyle: {state}",
        marked_range=otio.opentime.TimeRange(used.start_time, otio.opentime.RationalTime(0, 1)),
        color=otio.schema.MarkerColor.RED,
        comment=why[:500],
    )
    clip.markers.append(marker)


def write_timeline(timeline: otio.schema.Timeline, path: Path) -> None:
    """Write ``timeline`` in the format of ``path``'s suffix (.otio, .edl, .xml)."""
    adapter = timeline_adapter(path.name)
    if adapter is None:
        raise ValueError(f"{path}: use .otio, .edl or .xml")
    otio.adapters.write_to_file(timeline, str(path), adapter_name=adapter)


def s3_url(output: StoredObject) -> str:
    """The restyled media as its ``s3://`` URI (a media manager or a sync tool resolves it)."""
    return output.uri


def downloaded(s3: S3Client, folder: Path) -> MediaUrl:
    """Outputs fetched into ``folder`` and named by their item, referenced as local files."""

    def fetch(output: StoredObject) -> str:
        path = folder / Path(output.key).name
        folder.mkdir(parents=True, exist_ok=True)
        s3.download_file(output.bucket, output.key, str(path))
        return path.resolve().as_uri()

    return fetch
