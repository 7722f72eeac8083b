"""Small real H.264 clips for tests and demos, and a way to tell two clips apart.

``make_clip`` writes a moving test pattern (every frame differs) with PyAV, ``make_av_clip`` one
with a stereo soundtrack and optional hard cuts; ``describe_clip``
decodes a clip fully; ``frame_difference`` measures how different two clips look.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
_BARS = np.array(
    [
        [192, 192, 192],
        [192, 192, 0],
        [0, 192, 192],
        [0, 192, 0],
        [192, 0, 192],
        [192, 0, 0],
        [0, 0, 192],
        [16, 16, 16],
    ],
    dtype=np.uint8,
)


def bars(index: int, width: int, height: int) -> Image:
    """Frame ``index`` of the moving colour-bar pattern."""
    columns = (np.arange(width) * len(_BARS) // width + index // 2) % len(_BARS)
    image = np.repeat(_BARS[columns][np.newaxis, :, :], height, axis=0)
    box = (index * 6) % max(1, width - 16)
    image[height // 3 : height // 3 + 16, box : box + 16] = 255
    return image


def _gradient(index: int, width: int, height: int) -> Image:
    x = np.linspace(0, 255, width, dtype=np.float32)[np.newaxis, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, np.newaxis]
    shift = (index * 8) % 256
    red = (x + shift) % 256 + 0 * y
    green = (y + shift) % 256 + 0 * x
    blue = np.full((height, width), (255 - shift), dtype=np.float32)
    return np.stack([red, green, blue], axis=2).astype(np.uint8)


def _scene(index: int, width: int, height: int, scene: int) -> Image:
    """Shot ``scene``: a flat colour of its own with a small box moving across it."""
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = _BARS[(scene * 5) % len(_BARS)]
    box = (index * 2) % max(1, width - 16)
    image[height // 2 : height // 2 + 16, box : box + 16] = 255
    return image


def _pan(index: int, width: int, height: int) -> Image:
    """A soft coloured landscape panning two pixels a frame: steady motion, like camera footage."""
    x = np.arange(width, dtype=np.float32)[np.newaxis, :] + index * 2
    y = np.arange(height, dtype=np.float32)[:, np.newaxis]
    red = 120 + 90 * np.sin(x / 37.0) * np.cos(y / 53.0)
    green = 110 + 70 * np.sin((x + y) / 61.0)
    blue = 100 + 80 * np.cos(x / 23.0 - y / 41.0)
    image = np.stack(np.broadcast_arrays(red, green, blue), axis=-1)
    panned: Image = np.clip(image, 0, 255).astype(np.uint8)
    return panned


def _noise(index: int, width: int, height: int) -> Image:
    rng = np.random.default_rng(index)
    return rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)


PATTERNS: dict[str, Callable[[int, int, int], Image]] = {
    "bars": bars,
    "gradient": _gradient,
    "noise": _noise,
    "pan": _pan,
}


def make_clip_bytes(
    seconds: float = 2.0,
    width: int = 320,
    height: int = 180,
    fps: int | Fraction = 12,
    pattern: str = "bars",
) -> bytes:
    """An H.264 MP4 of a moving ``pattern`` (bars, gradient or noise); dimensions must be even."""
    draw = PATTERNS[pattern]
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as output:
        stream = output.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for index in range(max(1, round(seconds * fps))):
            frame = av.VideoFrame.from_ndarray(draw(index, width, height), format="rgb24")
            output.mux(stream.encode(frame.reformat(format="yuv420p")))
        output.mux(stream.encode(None))
    return buffer.getvalue()


def sine_tones(start: int, samples: int, rate: int, channels: int) -> npt.NDArray[np.float32]:
    """``channels`` sine tones (440 Hz, 660 Hz, ...), planar float, from sample ``start``."""
    t = (np.arange(start, start + samples, dtype=np.float64) / rate)[np.newaxis, :]
    pitches = 440.0 * (1 + 0.5 * np.arange(channels, dtype=np.float64))[:, np.newaxis]
    return (0.2 * np.sin(2 * np.pi * pitches * t)).astype(np.float32)


def make_av_clip(
    path: Path,
    seconds: float = 17.0,
    width: int = 320,
    height: int = 180,
    fps: int = 24,
    *,
    channels: int = 2,
    sample_rate: int = 48_000,
    scene_every_s: float | None = None,
    pattern: str = "bars",
    timecode: str | None = None,
) -> Path:
    """An H.264 + AAC MP4 at ``path``: moving bars (or another of `PATTERNS`) with a tone per
    channel (stereo by default).

    With ``scene_every_s`` the picture switches pattern (a hard cut) every that many seconds;
    ``timecode`` (``HH:MM:SS:FF``) is the start timecode a camera would have written.
    """
    with av.open(str(path), mode="w", format="mp4") as output:
        video = output.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        if timecode is not None:
            video.metadata["timecode"] = timecode
        video.options = {"preset": "ultrafast"}
        audio = output.add_stream("aac", rate=sample_rate)
        audio.layout = "stereo" if channels == 2 else "mono" if channels == 1 else f"{channels}c"
        layout = audio.layout.name
        frames = round(seconds * fps)
        for index in range(frames):
            image = PATTERNS[pattern](index, width, height)
            if scene_every_s:
                image = _scene(index, width, height, int(index / fps // scene_every_s))
            picture = av.VideoFrame.from_ndarray(image, format="rgb24")
            output.mux(video.encode(picture.reformat(format="yuv420p")))
            first, last = index * sample_rate // fps, (index + 1) * sample_rate // fps
            sound = av.AudioFrame.from_ndarray(
                sine_tones(first, last - first, sample_rate, channels), format="fltp", layout=layout
            )
            sound.sample_rate, sound.pts = sample_rate, first
            output.mux(audio.encode(sound))
        output.mux(video.encode(None))
        output.mux(audio.encode(None))
    return path


def make_clip(
    path: Path,
    seconds: float = 2.0,
    width: int = 320,
    height: int = 180,
    fps: int | Fraction = 12,
    pattern: str = "bars",
) -> Path:
    """Write `make_clip_bytes` to ``path`` and return it."""
    path.write_bytes(make_clip_bytes(seconds, width, height, fps, pattern))
    return path


@dataclass(frozen=True)
class ClipInfo:
    """What decoding a whole clip found."""

    codec: str
    width: int
    height: int
    frames: int
    seconds: float


def describe_clip(data: bytes) -> ClipInfo:
    """Decode every frame of ``data``; raises ``av.error.FFmpegError`` when it is not a video."""
    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.video[0]
        times = [frame.time or 0.0 for frame in container.decode(stream)]
        codec = stream.codec_context.name
        width, height = stream.codec_context.width, stream.codec_context.height
    seconds = max(times) if times else 0.0
    return ClipInfo(codec, width, height, len(times), seconds)


def _thumbnails(data: bytes, count: int) -> list[npt.NDArray[np.float32]]:
    thumbs: list[npt.NDArray[np.float32]] = []
    with av.open(io.BytesIO(data), mode="r") as container:
        for frame in container.decode(video=0):
            gray = frame.to_ndarray(width=64, height=36, format="rgb24").astype(np.float32)
            thumbs.append(gray)
            if len(thumbs) == count:
                break
    return thumbs


def frame_difference(first: bytes, second: bytes, frames: int = 12) -> float:
    """Mean absolute pixel difference (0-255) of the first ``frames`` frames, at 64x36 RGB."""
    pairs = list(zip(_thumbnails(first, frames), _thumbnails(second, frames), strict=False))
    if not pairs:
        raise ValueError("a clip has no frames")
    return float(np.mean([np.abs(a - b).mean() for a, b in pairs]))
