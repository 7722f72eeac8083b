"""The conform plan (pure): which ratio a source is sent as, how it is padded, and how a render
of it comes back to the source's shape without a stretch and without losing a source pixel."""

from __future__ import annotations

from fractions import Fraction

import pytest

from config.catalogue import CATALOGUE
from config.settings import ProviderName
from media.conform import (
    RATIO_FRAMES,
    conform_plan,
    display_aspect,
    nearest_ratio,
    pad_to,
    stretch,
)
from media.probe import VideoInfo
from producer.clip_plan import needs_conform

FRIENDLY = ("16:9", "9:16", "4:3", "3:4", "1:1", "21:9")
VIBEDREAM = ("16:9", "4:3", "1:1", "3:4", "9:16")


@pytest.mark.parametrize(
    ("size", "accepted", "ratio"),
    [
        ((176, 144), FRIENDLY, "4:3"),  # 11:9 is nearer 4:3 than 1:1
        ((640, 272), FRIENDLY, "21:9"),
        ((640, 272), VIBEDREAM, "16:9"),  # no 21:9 there: the nearest it has
        ((1080, 1920), FRIENDLY, "9:16"),
        ((320, 180), FRIENDLY, "16:9"),
        ((500, 500), FRIENDLY, "1:1"),
    ],
)
def test_the_ratio_sent_is_the_accepted_one_nearest_the_source(
    size: tuple[int, int], accepted: tuple[str, ...], ratio: str
) -> None:
    assert nearest_ratio(display_aspect(*size), accepted) == ratio


def test_anamorphic_pixels_choose_by_the_shape_on_screen() -> None:
    # 720x576 with 64:45 pixels is 16:9 on screen, though 5:4 in samples.
    aspect = display_aspect(720, 576, Fraction(64, 45))
    assert nearest_ratio(aspect, FRIENDLY) == "16:9"


def test_no_known_ratio_is_an_error() -> None:
    with pytest.raises(ValueError, match="no known ratio"):
        nearest_ratio(1.5, ("5:2",))


@pytest.mark.parametrize(
    ("size", "ratio", "frame", "offset"),
    [
        ((176, 144), "4:3", (192, 144), (8, 0)),  # bars left and right
        ((640, 272), "16:9", (640, 360), (0, 44)),  # bars above and below
        ((320, 180), "16:9", (320, 180), (0, 0)),  # already the shape: untouched
        ((360, 640), "9:16", (360, 640), (0, 0)),
    ],
)
def test_the_source_is_padded_centred_to_the_ratio_sent(
    size: tuple[int, int], ratio: str, frame: tuple[int, int], offset: tuple[int, int]
) -> None:
    placement = pad_to(size, ratio)
    assert (placement.frame_width, placement.frame_height) == frame
    assert (placement.left, placement.top) == offset
    assert (placement.width, placement.height) == size  # every source pixel is kept
    assert placement.padded == (frame != size)


@pytest.mark.parametrize(
    ("size", "ratio"),
    [((176, 144), "4:3"), ((640, 272), "16:9"), ((640, 272), "21:9"), ((360, 640), "9:16"),
     ((1440, 1080), "16:9"), ((200, 720), "9:16"), ((722, 480), "4:3")],
)  # fmt: skip
def test_a_render_comes_back_at_the_source_size_unstretched(
    size: tuple[int, int], ratio: str
) -> None:
    placement = pad_to(size, ratio)
    plan = conform_plan(placement, size)
    render = RATIO_FRAMES[ratio]
    assert plan.size == size
    left, top, width, height = plan.crop
    assert left + width <= plan.scale_to[0] and top + height <= plan.scale_to[1]
    # The bars are what is cropped: the crop sits where the picture was put.
    assert abs(left - placement.left) <= 2 and abs(top - placement.top) <= 2
    # One uniform scale from render to output, to within rounding (1%: under a pixel in 100).
    assert abs(stretch(render, plan)) < 0.01


def test_the_stretch_the_issue_saw_is_what_the_padding_removes() -> None:
    """The provider draws the frame it is sent onto its own: 176x144 sent as it is and drawn
    at 16:9 is 45% wider; padded to 16:9 first, the picture keeps its shape."""

    def widened(sent: tuple[int, int], render: tuple[int, int]) -> float:
        return (render[0] / render[1]) / (sent[0] / sent[1]) - 1

    assert widened((176, 144), (1280, 720)) == pytest.approx(0.4545, abs=0.001)
    padded = pad_to((176, 144), "16:9")
    assert abs(widened((padded.frame_width, padded.frame_height), (1280, 720))) < 0.01


def test_a_downscaled_cut_is_brought_back_to_the_full_source_size() -> None:
    # A 4K 4:3 source cut at 1920x1440, padded to 16:9, comes back at 3840x2880.
    placement = pad_to((1920, 1440), "16:9")
    plan = conform_plan(placement, (3840, 2880))
    assert plan.size == (3840, 2880)
    assert plan.scale_to == (5120, 2880)
    assert plan.crop[0] == 640


def test_a_source_at_the_models_own_frame_and_rate_needs_no_conform_unless_sent_otherwise() -> None:
    def video(width: int, height: int, fps: float) -> VideoInfo:
        return VideoInfo(container="mp4", codec="h264", duration_s=4.0, width=width,
                         height=height, size_bytes=None, fps=fps)  # fmt: skip

    segmind, runway = CATALOGUE[ProviderName.SEGMIND], CATALOGUE[ProviderName.RUNWAY]
    assert not needs_conform(video(1280, 720, 24), segmind)
    assert needs_conform(video(1280, 720, 24), segmind, "9:16")  # would come back 720x1280
    assert needs_conform(video(1280, 720, 25), segmind)  # would come back at 24 fps
    assert needs_conform(video(176, 144, 24), segmind)
    assert not needs_conform(video(176, 144, 29.97), runway)  # aleph2 keeps the input's shape
