"""Per-job style drift: the look one render draws, and laying it over the edited frames (pure).

A real model's renders of neighbouring segments differ in colour, contrast and texture even
with one prompt and seed; a stitched clip shows it as a jump at every seam. The emulator draws
one `Look` per render from what the render is of (input digest, prompt, seed), so identical
requests still render identically (and share the render cache), while each segment of a clip
gets its own.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from emulator.config import Drift

Frame = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Look:
    """One render's deviation from the neutral edit: per-channel ``gains`` (R, G, B), a
    brightness ``offset`` in levels, a ``contrast`` factor around mid-grey, ``grain`` (noise
    standard deviation in levels) and the ``noise_seed`` of that grain."""

    gains: tuple[float, float, float] = (1.0, 1.0, 1.0)
    offset: float = 0.0
    contrast: float = 1.0
    grain: float = 0.0
    noise_seed: int = 0

    @property
    def neutral(self) -> bool:
        """True when laying it over a frame changes nothing."""
        return self == NEUTRAL


NEUTRAL = Look()


def anchoring(drift: Drift, anchors: int) -> float:
    """How much of the drift is left when ``anchors`` images (a reference, keyframes) guide it."""
    return 1.0 if anchors <= 0 else drift.anchored / math.sqrt(anchors)


def look_for(drift: Drift, digest: str, prompt: str, seed: int | None, anchors: int) -> Look:
    """The look of the render of input ``digest`` with ``prompt`` and ``seed``."""
    if not drift.enabled:
        return NEUTRAL
    token = hashlib.sha256(f"{digest}\x00{prompt}\x00{seed}".encode()).digest()
    rng = random.Random(token)
    scale = anchoring(drift, anchors)

    def spread(limit: float) -> float:
        return rng.uniform(-limit, limit) * scale

    gains = (1 + spread(drift.colour), 1 + spread(drift.colour), 1 + spread(drift.colour))
    return Look(
        gains=gains,
        offset=spread(drift.brightness),
        contrast=1 + spread(drift.contrast),
        grain=rng.uniform(0.3, 1.0) * drift.grain * scale,
        noise_seed=rng.getrandbits(32),
    )


def apply_look(image: Frame, look: Look, index: int) -> Frame:
    """``image`` (RGB, uint8) as ``look`` renders it; ``index`` picks frame ``index``'s grain."""
    if look.neutral:
        return image
    pixels = image.astype(np.float32)
    pixels = (pixels - 128.0) * look.contrast + 128.0 + look.offset
    pixels *= np.asarray(look.gains, dtype=np.float32)
    if look.grain > 0:
        noise = np.random.default_rng((look.noise_seed, index)).standard_normal(
            image.shape[:2], dtype=np.float32
        )
        pixels += (noise * look.grain)[:, :, None]
    drifted: Frame = np.clip(pixels + 0.5, 0, 255).astype(np.uint8)
    return drifted
