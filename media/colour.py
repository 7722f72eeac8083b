"""Colour matching of one render to another: mean and variance transfer per channel (pure numpy).

A model's renders of neighbouring segments differ in colour cast, brightness and contrast. The
stitcher measures each segment's frames next to its seam and maps them onto the statistics of
the segment before it (which was itself mapped onto the one before, back to the anchor segment,
segment 1), so every segment ends up in the anchor's colours.

The transfer works in Y'CbCr, the frames' own space: one luma and two opponent chroma axes,
decorrelated enough for a per-channel transfer (the reason Reinhard et al. chose Lab) and, unlike
Lab, linear in the decoded planes. So a transfer is three 256-entry lookup tables applied to the
decoded planes as they are: no conversion of any pixel, which keeps colour matching within the
cost of the decode and encode it rides on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Plane = npt.NDArray[np.uint8]
Planes = tuple[Plane, Plane, Plane]
"""Y', Cb, Cr of one frame (any sizes; chroma is usually half the luma's each way)."""

GAIN_LIMITS = (0.5, 2.0)
"""A transfer never stretches or squeezes a channel's spread by more than this (a flat probe,
e.g. a black frame, would otherwise blow up the noise)."""
STATS_STEP = 4
"""Statistics read every 4th pixel of each row and column: the same numbers to 0.1 of a level."""


@dataclass(frozen=True)
class ColourStats:
    """Mean and standard deviation of Y', Cb and Cr over some frames."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]


@dataclass(frozen=True)
class Transfer:
    """Three lookup tables (Y', Cb, Cr), each mapping a level to its matched level."""

    tables: tuple[Plane, Plane, Plane]

    @property
    def identity(self) -> bool:
        """True when applying it changes nothing."""
        return all(np.array_equal(table, _IDENTITY) for table in self.tables)


_IDENTITY: Plane = np.arange(256, dtype=np.uint8)
IDENTITY = Transfer((_IDENTITY, _IDENTITY, _IDENTITY))


def yuv420p_planes(frame: Plane, height: int) -> Planes:
    """Views of the Y', Cb and Cr planes of a yuv420p frame as PyAV's ``to_ndarray`` lays it
    out: ``height`` rows of luma, then each chroma plane packed two half-rows to a row."""
    width = frame.shape[1]
    luma = frame[:height]
    chroma = frame[height:].reshape(2, height // 2, width // 2)
    return luma, chroma[0], chroma[1]


def ycbcr_from_rgb(rgb: npt.NDArray[np.uint8]) -> Planes:
    """Full-range BT.601 Y'CbCr planes (all full size) of an RGB image, for tests and benches."""
    pixels = rgb.astype(np.float32)
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    luma = 0.299 * red + 0.587 * green + 0.114 * blue
    blue_diff = 128 + (blue - luma) * 0.564
    red_diff = 128 + (red - luma) * 0.713
    return (_to_plane(luma), _to_plane(blue_diff), _to_plane(red_diff))


def _to_plane(values: npt.NDArray[np.float32]) -> Plane:
    plane: Plane = np.clip(values + 0.5, 0, 255).astype(np.uint8)
    return plane


def colour_stats(frames: Sequence[Planes]) -> ColourStats:
    """The statistics of ``frames`` together (raises `ValueError` when there are none)."""
    if not frames:
        raise ValueError("colour statistics need at least one frame")
    means: list[float] = []
    stds: list[float] = []
    for channel in range(3):
        values = np.concatenate(
            [frame[channel][::STATS_STEP, ::STATS_STEP].ravel() for frame in frames]
        ).astype(np.float32)
        means.append(float(values.mean()))
        stds.append(float(values.std()))
    return ColourStats((means[0], means[1], means[2]), (stds[0], stds[1], stds[2]))


def transfer(probe: ColourStats, target: ColourStats) -> Transfer:
    """The transfer that gives frames like ``probe`` the mean and spread of ``target``."""
    tables = []
    levels = np.arange(256, dtype=np.float32)
    for channel in range(3):
        spread = probe.std[channel]
        gain = target.std[channel] / spread if spread > 1e-3 else 1.0
        gain = min(max(gain, GAIN_LIMITS[0]), GAIN_LIMITS[1])
        mapped = (levels - probe.mean[channel]) * gain + target.mean[channel]
        tables.append(_to_plane(mapped))
    return Transfer((tables[0], tables[1], tables[2]))


def apply_transfer(planes: Planes, matched: Transfer) -> Planes:
    """``planes`` with ``matched`` applied (new arrays; the input is not changed)."""
    y, cb, cr = planes
    table_y, table_cb, table_cr = matched.tables
    return table_y[y], table_cb[cb], table_cr[cr]


def apply_to_yuv420p(frame: Plane, height: int, matched: Transfer) -> Plane:
    """A yuv420p frame (PyAV's ``to_ndarray`` layout) with ``matched`` applied."""
    out = np.empty_like(frame)
    luma, blue, red = yuv420p_planes(frame, height)
    out_luma, out_blue, out_red = yuv420p_planes(out, height)
    table_y, table_cb, table_cr = matched.tables
    np.take(table_y, luma, out=out_luma)
    np.take(table_cb, blue, out=out_blue)
    np.take(table_cr, red, out=out_red)
    return out
