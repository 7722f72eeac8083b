"""The emulator's "edit": decode the input, invert and rotate its colours, draw the prompt, encode.

`render_edit` is plain synchronous PyAV + numpy; `emulator.pool` runs it in worker processes so
that the event loop never waits on a codec.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import av
import numpy as np
import numpy.typing as npt

from emulator.glyphs import GLYPH_HEIGHT, text_mask

MAX_SECONDS = 5.0
MAX_FPS = 12
BOX = (320, 180)
TEXT_SCALE = 2
Frame = npt.NDArray[np.uint8]


class RenderError(Exception):
    """The input could not be decoded as a video (a provider-style failed job, not a crash)."""


def output_size(ratio: tuple[int, int] | None, source: tuple[int, int]) -> tuple[int, int]:
    """Width and height (even, within 320x180 or 180x320) of an output of ``ratio``."""
    width, height = ratio or source
    box_w, box_h = BOX if width >= height else BOX[::-1]
    scale = min(box_w / width, box_h / height)
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def render_edit(source: bytes, prompt: str, ratio: tuple[int, int] | None = None) -> bytes:
    """An H.264 MP4 (at most 5 s) of ``source`` visibly changed. Raises `RenderError`."""
    try:
        with av.open(io.BytesIO(source), mode="r") as container:
            if not container.streams.video:
                raise RenderError("the input has no video stream")
            return _transcode(container, prompt, ratio)
    except (av.error.FFmpegError, ValueError, IndexError) as exc:
        raise RenderError(f"the input could not be decoded: {type(exc).__name__}") from exc


def _transcode(
    container: av.container.InputContainer, prompt: str, ratio: tuple[int, int] | None
) -> bytes:
    stream = container.streams.video[0]
    fps = _output_fps(stream)
    size = output_size(ratio, (stream.codec_context.width, stream.codec_context.height))
    overlay = _overlay(prompt, size)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as output:
        encoder = output.add_stream("libx264", rate=fps)
        encoder.width, encoder.height = size
        encoder.pix_fmt = "yuv420p"
        encoder.options = {"preset": "ultrafast", "crf": "28"}
        count = 0
        for image in _sampled_frames(container, stream, fps, size):
            edited = _edit(image, overlay, count)
            frame = av.VideoFrame.from_ndarray(edited, format="rgb24").reformat(format="yuv420p")
            output.mux(encoder.encode(frame))
            count += 1
        if count == 0:
            raise RenderError("the input has no decodable frames")
        output.mux(encoder.encode(None))
    return buffer.getvalue()


def _output_fps(stream: av.video.stream.VideoStream) -> int:
    rate = stream.average_rate or stream.guessed_rate
    return max(1, min(MAX_FPS, round(float(rate)))) if rate else MAX_FPS


def _sampled_frames(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    fps: int,
    size: tuple[int, int],
) -> Iterator[Frame]:
    next_time = 0.0
    for index, frame in enumerate(container.decode(stream)):
        at = frame.time if frame.time is not None else index / fps
        if at >= MAX_SECONDS:
            return
        if at + 1e-6 < next_time:
            continue
        next_time += 1.0 / fps
        image = frame.to_ndarray(width=size[0], height=size[1], format="rgb24")
        yield np.asarray(image, dtype=np.uint8)


def _overlay(prompt: str, size: tuple[int, int]) -> npt.NDArray[np.bool_]:
    width, height = size
    per_line = max(1, (width - 4) // ((5 + 1) * TEXT_SCALE))
    lines = [prompt[i : i + per_line] for i in range(0, min(len(prompt), 2 * per_line), per_line)]
    mask = np.zeros((height, width), dtype=bool)
    top = height - len(lines) * (GLYPH_HEIGHT + 2) * TEXT_SCALE - 2
    for number, line in enumerate(lines):
        glyphs = text_mask(line, scale=TEXT_SCALE)
        row = max(0, top + number * (GLYPH_HEIGHT + 2) * TEXT_SCALE)
        rows, cols = glyphs.shape
        rows, cols = min(rows, height - row), min(cols, width - 2)
        mask[row : row + rows, 2 : 2 + cols] = glyphs[:rows, :cols]
    return mask


def _edit(image: Frame, overlay: npt.NDArray[np.bool_], index: int) -> Frame:
    edited = 255 - image[:, :, [2, 0, 1]]
    band = (index * 4) % image.shape[1]
    edited[:, band : band + 3] = (255, 255, 0)
    banner_top = int(np.argmax(overlay.any(axis=1))) if overlay.any() else image.shape[0]
    edited[max(0, banner_top - 2) :] //= 4
    edited[overlay] = 255
    return np.ascontiguousarray(edited, dtype=np.uint8)
