"""`AudioTrack`: a source's first audio stream written into an output MP4, cut to a length.

Packets are copied when MP4 carries the codec; anything else (PCM from a MOV master, say) is
decoded and encoded as AAC, with the last frame cut at the exact sample. `pump` is called as
video is written, so audio and video interleave without buffering either.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Any, Literal

import av
import numpy as np

COPYABLE = frozenset({"aac", "mp3", "alac", "ac3", "eac3"})
AAC_BITRATE = 192_000


class AudioTrack:
    """The audio of ``source`` into ``output``, up to ``length_s``; `mode` says how, or None."""

    def __init__(
        self, packets: Iterator[Any] | None, stream: Any, mode: Literal["copy", "aac"] | None
    ) -> None:
        self._packets = packets
        self._stream = stream
        self.mode = mode
        self._next: Any = None

    @classmethod
    def open(
        cls,
        source: Any,
        output: Any,
        length_s: Fraction,
        origin_s: Fraction = Fraction(0),
        *,
        skip_before: bool = False,
    ) -> AudioTrack:
        """Add an audio stream to ``output`` for ``source``'s first one (none if it has none).

        ``origin_s`` is where the output's first video frame is in the source: audio keeps its
        offset from it. ``skip_before`` drops the audio before ``origin_s`` (an edited range
        that starts inside the source), to the packet when copied, to the sample when encoded.
        """
        if not source.streams.audio:
            return cls(None, None, None)
        original = source.streams.audio[0]
        if original.codec_context.name in COPYABLE:
            stream = output.add_stream_from_template(original)
            packets = _copied(source, original, stream, (origin_s, length_s), skip_before)
            return cls(packets, stream, "copy")
        stream = output.add_stream("aac", rate=original.codec_context.sample_rate)
        stream.layout = original.codec_context.layout.name
        stream.bit_rate = AAC_BITRATE
        skip_s = origin_s if skip_before else Fraction(0)
        return cls(_encoded(source, original, stream, length_s, skip_s), stream, "aac")

    def pump(self, until_s: Fraction) -> None:
        """Write the audio packets that start before ``until_s``."""
        if self._packets is None:
            return
        container = self._stream.container
        while True:
            if self._next is None:
                self._next = next(self._packets, None)
                if self._next is None:
                    self._packets = None
                    return
            if self._next.pts is not None and self._next.pts * self._next.time_base >= until_s:
                return
            container.mux(self._next)
            self._next = None

    def finish(self) -> None:
        """Write whatever audio is left (it is already cut to length)."""
        self.pump(Fraction(10**9))


def _copied(
    source: Any, original: Any, stream: Any, span: tuple[Fraction, Fraction], skip_before: bool
) -> Iterator[Any]:
    origin_s, length_s = span
    start = round(origin_s / original.time_base)
    for packet in source.demux(original):
        if packet.pts is None or packet.size == 0:
            continue
        if skip_before and packet.pts < start:
            continue
        if (packet.pts - start) * original.time_base >= length_s:
            return
        packet.pts -= start
        if packet.dts is not None:
            packet.dts -= start
        packet.stream = stream
        yield packet


def _encoded(
    source: Any, original: Any, stream: Any, length_s: Fraction, skip_s: Fraction
) -> Iterator[Any]:
    rate = original.codec_context.sample_rate
    wanted = int(length_s * rate)
    skip = int(skip_s * rate)
    written = 0
    for frame in source.decode(original):
        if skip >= frame.samples:
            skip -= frame.samples
            continue
        if skip:
            frame, skip = _tail(frame, frame.samples - skip), 0
        take = min(frame.samples, wanted - written)
        if take <= 0:
            break
        if take < frame.samples:
            frame = _head(frame, take)
        frame.pts = written
        frame.time_base = Fraction(1, rate)
        written += take
        yield from stream.encode(frame)
    yield from stream.encode(None)


def _head(frame: Any, samples: int) -> Any:
    """The first ``samples`` samples of ``frame``."""
    return _slice(frame, 0, samples)


def _tail(frame: Any, samples: int) -> Any:
    """The last ``samples`` samples of ``frame``."""
    return _slice(frame, frame.samples - samples, frame.samples)


def _slice(frame: Any, first: int, end: int) -> Any:
    data = frame.to_ndarray()
    width = 1 if frame.format.is_planar else len(frame.layout.channels)
    cut = data[:, first * width : end * width]
    part = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(cut), frame.format.name, frame.layout.name
    )
    part.sample_rate = frame.sample_rate
    return part
