"""What an output's bytes are, before they are stored: a video, or something else.

A provider's output URL may serve anything (an error page, a JSON document, the instance's
cloud credentials behind an SSRF). `sniff_video` reads the container's signature in the first
bytes and names its media type (which is what the stored object gets, never the answer's own
Content-Type); the archive then has the whole file probed as a video before the object is
completed (`storage.archive`). Pure.
"""

from __future__ import annotations

SNIFF_BYTES = 64
ISO_BOXES = frozenset({b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot"})
EBML_MAGIC = b"\x1a\x45\xdf\xa3"
VIDEO_MARK = {"content-check": "video"}
"""User metadata on every object restyle stored as a checked video (archive and stitch); the
dashboard serves no other object."""


def sniff_video(head: bytes) -> str | None:
    """The media type of a video container starting with ``head``, or None when it is none.

    ISO base media (MP4, and QuickTime when its brand says ``qt``) and Matroska/WebM: the
    containers the providers answer with. Anything else is refused.
    """
    if len(head) >= 8 and head[4:8] in ISO_BOXES:
        return "video/quicktime" if head[8:12] == b"qt  " else "video/mp4"
    if head.startswith(EBML_MAGIC):
        return "video/webm" if b"webm" in head[:SNIFF_BYTES] else "video/x-matroska"
    return None


def is_checked_video(content_type: str, metadata: dict[str, str]) -> bool:
    """True for an object stored as a checked video: a ``video/*`` type and restyle's mark."""
    return content_type.startswith("video/") and all(
        metadata.get(name) == value for name, value in VIDEO_MARK.items()
    )
