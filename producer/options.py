"""``restyle submit``'s options, the batch name and the output prefix, checked."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from config.settings import DEFAULT_SEAMS, SeamSettings, Settings
from jobs.batches import BATCH_NAME_PATTERN
from jobs.clips.record import Continuity, OutputSize
from jobs.models import Priority
from jobs.quality import QcPolicy
from jobs.routes import Policy
from producer.checks import BatchDefaults
from producer.clip_plan import ClipChoices
from producer.timelines.ranges import TimelineChoices
from storage.object_keys import parse_s3_uri

_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


class SubmitError(Exception):
    """The batch cannot be submitted; the message says why (the CLI exits non-zero)."""


class InvalidOption(SubmitError):
    """A command-line option is wrong (batch name, output prefix, ...)."""


@dataclass(frozen=True)
class SubmitOptions:
    """``restyle submit``'s options; the per-row fields are defaults for empty cells."""

    prompt: str | None = None
    provider: str | None = None
    """A provider, a comma-separated list in order of preference, or ``auto``."""
    aspect_ratio: str | None = None
    seed: int | None = None
    reference_image: str | None = None
    batch: str | None = None
    budget_usd: float | None = None
    priority: Priority = Priority.BULK
    output: str | None = None
    dry_run: bool = False
    skip_invalid: bool = False
    strict_columns: bool = False
    max_seconds: float | None = None
    continuity: Continuity | None = None
    output_size: OutputSize = OutputSize.SOURCE
    mix_providers: bool = False
    overlap_frames: int | None = None
    """Frames crossfaded at each seam of a long clip (None: ``RESTYLE_SEAMS__OVERLAP_FRAMES``)."""
    colour_match: bool | None = None
    """Colour-match segments to the first (None: ``RESTYLE_SEAMS__COLOUR_MATCH``)."""

    def clip_choices(self, seams: SeamSettings = DEFAULT_SEAMS) -> ClipChoices:
        """How long sources are cut, kept consistent, sized, failed over and seamed; ``seams``
        are the configured defaults the options override."""
        asked = {"overlap_frames": self.overlap_frames, "colour_match": self.colour_match}
        given = {name: value for name, value in asked.items() if value is not None}
        handling = SeamSettings.model_validate({**seams.model_dump(), **given})
        return ClipChoices(
            self.max_seconds, self.continuity, self.output_size, self.mix_providers, handling
        )

    policy: Policy = Policy.CHEAPEST
    max_price_per_second: float | None = None
    qc: QcPolicy = field(default_factory=QcPolicy)
    """``--qc-retries`` and ``--qc-policy``: what an output failing its checks gets."""
    timeline: TimelineChoices = field(default_factory=TimelineChoices)
    """How a timeline SOURCE becomes rows: handles, merging, where its media is."""

    def defaults(self) -> BatchDefaults:
        """The row defaults these options give."""
        return BatchDefaults(
            prompt=self.prompt,
            provider=self.provider,
            aspect_ratio=self.aspect_ratio,
            seed=self.seed,
            reference_image=self.reference_image,
            policy=self.policy,
            max_price_per_second=self.max_price_per_second,
        )


def batch_name(requested: str | None, source: str) -> str:
    """``requested``, checked; by default the source's name and a hash of it (stable)."""
    if requested is not None:
        if not re.fullmatch(BATCH_NAME_PATTERN, requested):
            raise InvalidOption(f"--batch {requested!r}: use 1-128 of A-Z a-z 0-9 . _ -")
        return requested
    stem = PurePosixPath(source.rstrip("/").replace("\\", "/")).stem
    slug = _SLUG.sub("_", stem).strip("._-")[:40] or "batch"
    return f"{slug}-{hashlib.sha256(source.encode()).hexdigest()[:8]}"


def output_prefix(requested: str | None, settings: Settings) -> str:
    """Where outputs land, as ``s3://bucket/prefix`` (``--output`` or the settings)."""
    if requested is None:
        return f"s3://{settings.s3_bucket}/{settings.s3_prefix.strip('/')}"
    try:
        bucket, prefix = parse_s3_uri(requested)
    except ValueError:
        raise InvalidOption(f"--output {requested!r}: use s3://bucket/prefix") from None
    return f"s3://{bucket}/{prefix.strip('/')}"
