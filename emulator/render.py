"""The emulator's "edit": decode the input, invert and rotate its colours, draw the prompt, lay
the render's drifted look over it, encode.

The output follows the model's `EditWindow` as the real service does: gen4_aleph edits only the
first 5 s, at 24 fps, at the ratio's frame size (1280x720 for 16:9) and drops the audio; aleph2
keeps the input's length, frame rate and size. The pixels are edited at a small working size and
scaled up by the encoder's scaler, so rendering costs about what it did at 320x180.

`render_edit` is plain synchronous PyAV + numpy; `emulator.pool` runs it in worker processes so
that the event loop never waits on a codec.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt

from config.catalogue import GEN4_ALEPH, EditWindow
from emulator.defects import NOT_A_VIDEO, Defect, frame_count, spoil
from emulator.drift import NEUTRAL, Look, apply_look
from emulator.glyphs import GLYPH_HEIGHT, text_mask
from media.normalise import as_rate
from media.probe import duration_of
from media.retime import constant_rate

WORK_BOX = (320, 180)
TEXT_SCALE = 2
# Runway's pixel ratios for the friendly ones (../shared/providers.md; a suggestion there [I]).
RATIO_FRAMES = {
    (16, 9): (1280, 720),
    (9, 16): (720, 1280),
    (4, 3): (1104, 832),
    (3, 4): (832, 1104),
    (1, 1): (960, 960),
    (21, 9): (1584, 672),
}
Frame = npt.NDArray[np.uint8]


class RenderError(Exception):
    """The input could not be decoded as a video (a provider-style failed job, not a crash)."""


def fit(shape: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """``shape`` scaled to fit ``box`` (turned to match its orientation), both sides even."""
    width, height = shape
    box_w, box_h = box if width >= height else box[::-1]
    scale = min(box_w / width, box_h / height)
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def output_size(
    ratio: tuple[int, int] | None, source: tuple[int, int], window: EditWindow = GEN4_ALEPH
) -> tuple[int, int]:
    """The output's width and height: the input's, or the model's frame for ``ratio``."""
    if window.output_size == "input":
        return max(2, source[0] // 2 * 2), max(2, source[1] // 2 * 2)
    if ratio in RATIO_FRAMES:
        return RATIO_FRAMES[ratio]
    return fit(ratio or source, window.frame)


def seconds_of(data: bytes) -> float:
    """How long an MP4 the emulator rendered is, in seconds (0 when it cannot tell)."""
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            return duration_of(container, container.streams.video[0]) or 0.0
    except (av.error.FFmpegError, IndexError):
        return 0.0


def render_edit(
    source: bytes,
    prompt: str,
    ratio: tuple[int, int] | None = None,
    window: EditWindow = GEN4_ALEPH,
    defect: str | None = None,
    look: Look = NEUTRAL,
) -> bytes:
    """An H.264 MP4 of the part of ``source`` ``window`` edits, visibly changed, silent;
    ``look`` is this render's drift (see `emulator.drift`); ``defect`` makes it a bad one
    (`emulator.defects`).

    Raises `RenderError`.
    """
    if defect == Defect.UNEDITED:
        return source
    if defect == Defect.NOT_VIDEO:
        return NOT_A_VIDEO
    try:
        with av.open(io.BytesIO(source), mode="r") as container:
            if not container.streams.video:
                raise RenderError("the input has no video stream")
            return _transcode(container, prompt, (ratio, defect), (window, look))
    except (av.error.FFmpegError, ValueError, IndexError, ZeroDivisionError) as exc:
        raise RenderError(f"the input could not be decoded: {type(exc).__name__}") from exc


def _transcode(
    container: av.container.InputContainer,
    prompt: str,
    asked: tuple[tuple[int, int] | None, str | None],
    how: tuple[EditWindow, Look],
) -> bytes:
    ratio, defect = asked
    window, look = how
    stream = container.streams.video[0]
    source = (stream.codec_context.width, stream.codec_context.height)
    fps = _output_fps(stream, window)
    size = output_size(ratio, source, window)
    work = fit(size, WORK_BOX)
    overlay = _overlay(prompt, work)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as output:
        encoder = output.add_stream("libx264", rate=fps)
        encoder.width, encoder.height = size
        encoder.pix_fmt = "yuv420p"
        encoder.options = {"preset": "ultrafast", "crf": "36", "tune": "zerolatency"}
        count = 0
        first: Frame | None = None
        for count, image in enumerate(
            _sampled_frames(container, stream, fps, work, window, defect), 1
        ):
            edited = apply_look(_edit(image, overlay, count - 1), look, count - 1)
            first = edited if first is None else first
            edited = spoil(edited, first, defect)
            frame = av.VideoFrame.from_ndarray(edited, format="rgb24").reformat(format="yuv420p")
            # Nearest-neighbour upscaling of the small edit keeps 1280x720 about as cheap as
            # the 320x180 output used to be.
            frame = frame.reformat(width=size[0], height=size[1], interpolation="POINT")
            frame.pts = count - 1
            output.mux(encoder.encode(frame))
        if count == 0:
            raise RenderError("the input has no decodable frames")
        output.mux(encoder.encode(None))
    return buffer.getvalue()


def _output_fps(stream: av.video.stream.VideoStream, window: EditWindow) -> Fraction:
    if window.output_fps is not None:
        return as_rate(window.output_fps)
    rate = stream.average_rate or stream.guessed_rate
    return as_rate(rate) if rate else as_rate(24)


def _input_frames(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    fps: Fraction,
    window: EditWindow,
) -> int:
    """How many output frames: the window's (or the input's, when shorter) length at ``fps``."""
    seconds = duration_of(container, stream) or window.max_seconds
    return max(1, round(min(seconds, window.max_seconds) * fps))


def _sampled_frames(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    fps: Fraction,
    size: tuple[int, int],
    window: EditWindow,
    defect: str | None = None,
) -> Iterator[Frame]:
    count = frame_count(_input_frames(container, stream, fps, window), defect)
    for _, frame in constant_rate(container.decode(stream), fps, count):
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
