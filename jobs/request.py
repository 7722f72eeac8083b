"""`EditRequest`: one edit as restyle means it, before any provider's field names."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

AspectRatio = Literal["16:9", "9:16", "4:3", "3:4", "1:1", "21:9"]

RUNWAY_PIXEL_RATIOS: dict[str, str] = {
    "16:9": "1280:720",
    "9:16": "720:1280",
    "4:3": "1104:832",
    "3:4": "832:1104",
    "1:1": "960:960",
    "21:9": "1584:672",
}
"""Friendly ratio -> Runway/aimlapi pixel ratio. Unconfirmed mapping (providers.md §6)."""


class Keyframe(BaseModel):
    """A guidance image placed at ``seconds`` into the input (Runway aleph2's ``keyframes``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seconds: float = Field(ge=0, le=3600)
    uri: str = Field(min_length=1, max_length=8192)


class EditRequest(BaseModel):
    """A validated video-to-video edit; adapters map it to their wire fields or refuse it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    video_url: str = Field(min_length=1, max_length=8192)
    prompt: str = Field(min_length=1, max_length=1000)
    aspect_ratio: AspectRatio | None = None
    seed: int | None = Field(default=None, ge=0, le=4_294_967_295)
    reference_image_url: str | None = None
    duration_s: int | None = Field(default=None, ge=1, le=10)
    keyframes: tuple[Keyframe, ...] = Field(default=(), max_length=5)
    """Timed style anchors; only providers with ``max_keyframes`` take them."""
