"""`ProbeError`: a source that restyle cannot read as a video."""

from __future__ import annotations


class ProbeError(Exception):
    """``source`` (a path, or a URL without its query) could not be read as a video.

    ``temporary`` is True when trying again later may work (timeouts, 5xx, refused
    connections), False when the source itself is the problem (missing, empty, not a video).
    """

    def __init__(self, source: str, reason: str, *, temporary: bool = False) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason
        self.temporary = temporary
