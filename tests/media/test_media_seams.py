"""Seams on synthetic frames: colour transfer, crossfade and the seam score (pure numpy).

The "render" of a segment is a panning picture with a drifted look laid over it, as the
emulator draws one per job; the seam score must find the drift at a hard join and stop finding
it once the later segment is colour-matched and crossfaded.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from emulator.config import Drift
from emulator.drift import Look, anchoring, apply_look, look_for
from media.colour import (
    IDENTITY,
    Planes,
    Transfer,
    apply_to_yuv420p,
    colour_stats,
    transfer,
    yuv420p_planes,
)
from media.samples import PATTERNS
from media.seams import SeamMeter, colour_histogram, crossfade, histogram_distance, score_seam
from media.stitching import MATCH_FRAMES

WIDTH, HEIGHT = 96, 64
DRIFTED = Look(gains=(1.07, 0.95, 1.04), offset=-9.0, contrast=1.1, grain=0.0)
THRESHOLDS = (1.5, 0.2)
NONE = Look()


def rgb(index: int, look: Look = NONE) -> npt.NDArray[np.uint8]:
    """Frame ``index`` of a panning clip as a render with ``look`` shows it."""
    return apply_look(PATTERNS["pan"](index, WIDTH, HEIGHT), look, index)


def planes(index: int, look: Look = NONE) -> Planes:
    """The frame's Y'CbCr planes (all full size)."""
    return ycbcr(rgb(index, look))


def ycbcr(image: npt.NDArray[np.uint8]) -> Planes:
    """Full-range BT.601 Y'CbCr planes of an RGB image."""
    red, green, blue = (image[..., channel].astype(np.float32) for channel in range(3))
    luma = 0.299 * red + 0.587 * green + 0.114 * blue
    out = (luma, 128 + (blue - luma) * 0.564, 128 + (red - luma) * 0.713)
    y, cb, cr = (np.clip(plane + 0.5, 0, 255).astype(np.uint8) for plane in out)
    return y, cb, cr


def apply_transfer(channels: Planes, matched: Transfer) -> Planes:
    y, cb, cr = (table[channel] for table, channel in zip(matched.tables, channels, strict=True))
    return y, cb, cr


def mean_error(first: Planes, second: Planes) -> float:
    pairs = zip(first, second, strict=True)
    return float(np.mean([np.abs(a.astype(float) - b.astype(float)).mean() for a, b in pairs]))


def test_a_transfer_measured_on_the_same_frames_undoes_a_drift() -> None:
    clean = [planes(i) for i in range(6)]
    drifted = [planes(i, DRIFTED) for i in range(6)]
    matched = transfer(colour_stats(drifted), colour_stats(clean))

    later = planes(40, DRIFTED)  # applied alike to every frame of the segment
    assert mean_error(later, planes(40)) > 6
    assert mean_error(apply_transfer(later, matched), planes(40)) < 1.5


def test_the_transfer_of_a_segment_onto_itself_changes_nothing() -> None:
    stats = colour_stats([planes(i) for i in range(4)])
    assert transfer(stats, stats).identity
    assert IDENTITY.identity
    with pytest.raises(ValueError):
        colour_stats([])


def test_a_transfer_applies_to_the_planes_of_a_packed_yuv420p_frame() -> None:
    matched = transfer(colour_stats([planes(0, DRIFTED)]), colour_stats([planes(0)]))
    y, cb, cr = planes(3, DRIFTED)
    half = (cb[::2, ::2], cr[::2, ::2])
    packed = np.concatenate([y, *(plane.reshape(HEIGHT // 4, WIDTH) for plane in half)])
    out = yuv420p_planes(apply_to_yuv420p(packed, HEIGHT, matched), HEIGHT)
    for got, want in zip(out, apply_transfer((y, *half), matched), strict=True):
        assert np.array_equal(got, want)


def test_a_crossfade_ramps_evenly_from_one_frame_to_the_other() -> None:
    dark, light = np.full((2, 2), 10, np.uint8), np.full((2, 2), 130, np.uint8)
    steps = [int(crossfade(dark, light, k, 4)[0, 0]) for k in range(5)]
    assert steps == [10, 40, 70, 100, 130]


def join(
    second_look: Look, *, match: bool = False, fade: int = 0, frames: int = 24
) -> tuple[float, float, bool]:
    """Segment 1 (clean) then segment 2 (``second_look``) of one panning shot through a
    `SeamMeter`: the seam's ratio, histogram distance and flag."""
    meter = SeamMeter(24.0, THRESHOLDS)
    first = [planes(i) for i in range(frames + fade)]
    second = [planes(i, second_look) for i in range(frames - fade, 2 * frames)]
    if match:
        window = fade or MATCH_FRAMES  # as the stitcher measures
        probe = second[:window]
        reference = first[frames - fade : frames] if fade else first[frames - window : frames]
        matched = transfer(colour_stats(probe), colour_stats(reference))
        second = [apply_transfer(p, matched) for p in second]
    for frame in first[: frames - fade]:
        meter.add(frame, 0)
    for k in range(fade):
        y, cb, cr = (
            crossfade(a, b, k + 1, fade + 1)
            for a, b in zip(first[frames - fade + k], second[k], strict=True)
        )
        meter.add((y, cb, cr), 1, blended=True)
    for frame in second[fade:]:
        meter.add(frame, 1)
    (score,) = meter.scores()
    assert score.index == 1 and score.at_s == pytest.approx((frames - fade) / 24, abs=0.05)
    return score.ratio, score.histogram, score.flagged


def test_the_seam_score_finds_a_drifted_render_and_not_a_steady_one() -> None:
    steady_ratio, steady_histogram, steady_flag = join(Look())
    drifted_ratio, drifted_histogram, drifted_flag = join(DRIFTED)

    assert steady_ratio < 1.2 and not steady_flag
    assert drifted_ratio > 3 and drifted_flag
    assert drifted_histogram > 2 * steady_histogram


def test_colour_matching_and_a_crossfade_bring_a_drifted_seam_under_the_threshold() -> None:
    hard_ratio, hard_histogram, _ = join(DRIFTED)
    matched_ratio, matched_histogram, matched_flag = join(DRIFTED, match=True)
    faded_ratio, faded_histogram, _ = join(DRIFTED, fade=8)
    both_ratio, _, both_flag = join(DRIFTED, match=True, fade=8)

    assert matched_ratio < THRESHOLDS[0] and not matched_flag
    assert matched_histogram < hard_histogram / 4
    assert faded_ratio < hard_ratio / 2 and faded_histogram < hard_histogram / 2
    assert both_ratio < THRESHOLDS[0] and not both_flag
    # Matching a seam that did not drift leaves it alone.
    assert not join(Look(), match=True)[2] and not join(Look(), match=True, fade=8)[2]


def test_histogram_distance_is_zero_for_the_same_frame_and_one_for_disjoint_colours() -> None:
    frame = planes(0)
    assert histogram_distance(colour_histogram(frame), colour_histogram(frame)) == 0
    black = tuple(np.zeros((4, 4), np.uint8) for _ in range(3))
    white = tuple(np.full((4, 4), 255, np.uint8) for _ in range(3))
    distance = histogram_distance(colour_histogram(black), colour_histogram(white))  # type: ignore[arg-type]
    assert distance == pytest.approx(1.0)


def test_each_job_draws_its_own_look_and_anchors_shrink_it() -> None:
    drift = Drift()
    one = look_for(drift, "digest-a", "winter", 7, anchors=0)
    assert one == look_for(drift, "digest-a", "winter", 7, anchors=0)  # the same request
    assert one != look_for(drift, "digest-b", "winter", 7, anchors=0)  # the next segment
    assert one != look_for(drift, "digest-a", "winter", 8, anchors=0)  # another seed
    assert look_for(drift.model_copy(update={"enabled": False}), "d", "p", 1, 0).neutral

    def size(anchors: int) -> float:
        looks = [look_for(drift, f"d{n}", "p", 1, anchors) for n in range(40)]
        return float(np.mean([abs(look.offset) + abs(look.contrast - 1) * 100 for look in looks]))

    assert anchoring(drift, 0) == 1 and anchoring(drift, 1) > anchoring(drift, 5)
    assert size(5) < size(1) < size(0)


def test_a_seam_on_a_scene_cut_is_scored_but_never_flagged() -> None:
    changes = ([2.0, 2.1, 1.9], [30.0], [2.0, 2.2])
    seam = score_seam(1, 5.0, changes, [0.6], THRESHOLDS)
    at_cut = score_seam(1, 5.0, changes, [0.6], THRESHOLDS, at_cut=True)
    assert seam.flagged and seam.ratio == pytest.approx(15.0) and seam.histogram == 0.6
    assert at_cut.at_s == 5.0 and at_cut.ratio == seam.ratio and not at_cut.flagged
