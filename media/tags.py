"""`carry_tags`: what an editor relinks a clip by, copied from the source onto an output.

A conformed output replaces its source in a timeline, so it keeps the source's pixel aspect,
colour description (primaries, transfer, matrix, range), display rotation, start timecode and
creation time. Only what the source states is copied; nothing is invented.
"""

from __future__ import annotations

from typing import Any

import av

from media.errors import ProbeError
from media.opening import MediaSource, open_media

COLOUR_FIELDS = ("color_primaries", "color_trc", "colorspace", "color_range")
UNSPECIFIED = 2  # AVCOL_PRI/TRC/SPC_UNSPECIFIED; ranges use 0 for unspecified
CONTAINER_TAGS = ("creation_time", "timecode")
STREAM_TAGS = ("timecode", "language", "handler_name")


def carry_tags(source: Any, output: Any, video: Any, rotation: int = 0) -> None:
    """Copy ``source``'s (an open input container) relink tags onto ``output`` and its
    ``video`` stream, before the first frame is encoded."""
    if not source.streams.video:
        return
    stream = source.streams.video[0]
    context = stream.codec_context
    for name in COLOUR_FIELDS:
        value = getattr(context, name, None)
        if value and not (name != "color_range" and value == UNSPECIFIED):
            setattr(video.codec_context, name, value)
    sar = context.sample_aspect_ratio
    if sar and sar != 1:
        video.codec_context.sample_aspect_ratio = sar
    for name in CONTAINER_TAGS:
        value = source.metadata.get(name) or stream.metadata.get(name)
        if value:
            output.metadata[name] = value
    for name in STREAM_TAGS:
        value = stream.metadata.get(name)
        if value:
            video.metadata[name] = value
    if rotation:
        video.set_display_rotation(rotation)


def source_rotation(source: MediaSource, **kwargs: Any) -> int:
    """The display rotation (degrees counter-clockwise) of ``source``'s first video frame."""
    with open_media(source, **kwargs) as opened:
        if not opened.container.streams.video:
            return 0
        try:
            for frame in opened.container.decode(video=0):
                return round(frame.rotation or 0)
        except av.FFmpegError as exc:
            raise ProbeError(opened.where, f"cannot decode: {exc.strerror}") from exc
    return 0
