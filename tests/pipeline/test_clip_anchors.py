"""How many frames of segment 1's edit anchor the other segments, and where (pure)."""

from __future__ import annotations

from config.catalogue import CATALOGUE
from config.settings import ProviderName
from pipeline.clips.anchoring import ANCHOR_AT, anchor_count, anchor_fractions


def test_aleph2_takes_up_to_five_keyframes_and_the_resellers_one_reference_image() -> None:
    runway = CATALOGUE[ProviderName.RUNWAY].max_keyframes
    segmind = CATALOGUE[ProviderName.SEGMIND].max_keyframes
    assert anchor_count(5, runway) == 5
    assert anchor_count(3, runway) == 3
    assert anchor_count(9, runway) == runway == 5
    assert anchor_count(5, segmind) == 1


def test_anchor_frames_are_spread_evenly_and_one_frame_is_taken_mid_segment() -> None:
    assert anchor_fractions(1) == (ANCHOR_AT,)
    assert anchor_fractions(5) == (0.1, 0.3, 0.5, 0.7, 0.9)
    assert anchor_fractions(2) == (0.25, 0.75)
