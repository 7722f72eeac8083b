"""Sources only the media tests need: a library master (ProRes or DNxHR in MOV, PCM stereo)
and a variable-frame-rate MP4, drawn with `media.samples`' test pattern and tone."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from media.samples import bars, sine_tones


def make_master(
    path: Path,
    seconds: float = 3.0,
    width: int = 640,
    height: int = 360,
    fps: int = 25,
    *,
    codec: str = "prores_ks",
) -> Path:
    """A library-master style MOV at ``path``: ``codec`` video (ProRes by default), PCM stereo."""
    rate = 48_000
    with av.open(str(path), mode="w", format="mov") as output:
        video: Any = output.add_stream(codec, rate=fps)
        video.width, video.height = width, height
        video.pix_fmt = "yuv422p10le" if codec.startswith("prores") else "yuv422p"
        if codec == "dnxhd":
            video.options = {"profile": "dnxhr_lb"}  # DNxHR takes any frame size
        audio = output.add_stream("pcm_s16le", rate=rate)
        audio.layout = "stereo"
        for index in range(round(seconds * fps)):
            picture = av.VideoFrame.from_ndarray(bars(index, width, height), format="rgb24")
            output.mux(video.encode(picture.reformat(format=video.pix_fmt)))
            first, last = index * rate // fps, (index + 1) * rate // fps
            tone = (sine_tones(first, last - first, rate, 2) * 32767).astype(np.int16)
            sound = av.AudioFrame.from_ndarray(tone.T.reshape(1, -1), format="s16", layout="stereo")
            sound.sample_rate, sound.pts = rate, first
            output.mux(audio.encode(sound))
        output.mux(video.encode(None))
        output.mux(audio.encode(None))
    return path


def make_vfr_clip(path: Path, seconds: float = 4.0, width: int = 320, height: int = 180) -> Path:
    """An H.264 MP4 whose frames last 1/30 s or 1/15 s in turn (a variable frame rate)."""
    with av.open(str(path), mode="w", format="mp4") as output:
        video = output.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.time_base = Fraction(1, 1000)
        video.options = {"preset": "ultrafast"}
        at, index = 0.0, 0
        while at < seconds - 1e-9:
            picture = av.VideoFrame.from_ndarray(bars(index, width, height), format="rgb24")
            picture = picture.reformat(format="yuv420p")
            picture.pts, picture.time_base = round(at * 1000), Fraction(1, 1000)
            output.mux(video.encode(picture))
            at += (1 / 30, 1 / 15)[(index // 10) % 2]
            index += 1
        output.mux(video.encode(None))
    return path
