"""`judge`: whether a render is one a producer can use (pure: frame statistics in, verdict out).

The statistics (`RenderStats`, measured by `media.qc_measure` on downscaled luma) are judged
against the input the provider was sent, so a shot that is dark, static or soft in the source
is not a fault in its edit. The thresholds start from FFmpeg's own detectors:

- **black** (``blackdetect``): a frame is black when 98% of its pixels are below 10% luma;
  the render fails when black frames run for 2 s, or half of a shorter render, longer than
  any black run of the source;
- **frozen** (``freezedetect``, -60 dB): a frame is frozen when it differs from the one
  before by under 0.1% of full scale (0.255 of 255); the same run rule;
- **unedited**: the render is the source handed back, its frames within 2 levels of the
  source's at the same times;
- **length**: its frame count is off the expected one by more than one frame (a model with a
  fixed window may hand back all of it for a shorter input: up to the window passes);
- **blurred** (or blank, as a moderation filter leaves it): its detail, the mean absolute
  Laplacian of its luma, is under a quarter of the source's;
- **no video**: nothing decodable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction


class Check(StrEnum):
    """One thing a render is checked for."""

    NO_VIDEO = "no_video"
    BLACK = "black"
    FROZEN = "frozen"
    UNEDITED = "unedited"
    LENGTH = "length"
    BLURRED = "blurred"


@dataclass(frozen=True)
class Thresholds:
    """Where each check draws its line (see the module doc)."""

    black_pixel: float = 0.10 * 255
    black_picture: float = 0.98
    run_s: float = 2.0
    run_share: float = 0.5
    frozen_change: float = 0.001 * 255
    unedited_diff: float = 2.0
    detail_share: float = 0.25
    min_source_detail: float = 0.5


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class FrameStats:
    """One frame at the checking size: ``black`` (share of pixels under the black threshold),
    ``detail`` (mean absolute Laplacian of the luma), ``change`` (mean absolute difference from the
    frame before; None for the first)."""

    black: float
    detail: float
    change: float | None


@dataclass(frozen=True)
class RenderStats:
    """What decoding a render found: its frames at ``fps`` (empty with ``video`` False), and
    ``source_diff``, the mean absolute difference from the source's frames at the same times
    (None when the source was not compared)."""

    video: bool
    fps: Fraction
    frames: tuple[FrameStats, ...] = ()
    source_diff: float | None = None


@dataclass(frozen=True)
class Expected:
    """What the render should be: ``seconds`` long (or up to ``longest_s``, for a model that
    may hand back its whole fixed window for a shorter input: the stitch trims it), and the
    statistics of the input sent (None when it could not be read: then only the render's own
    checks run)."""

    seconds: float
    source: RenderStats | None = None
    longest_s: float | None = None


@dataclass(frozen=True)
class Finding:
    """One check's result with its number and where the line is."""

    check: Check
    passed: bool
    value: float
    limit: float
    note: str = ""

    def describe(self) -> str:
        """``black FAIL 3.20 (limit 2.00, longest black run s)``."""
        result = "ok" if self.passed else "FAIL"
        return f"{self.check} {result} {self.value:.3g} (limit {self.limit:.3g}{self.note})"


@dataclass(frozen=True)
class Verdict:
    """Every finding; the render passes when they all do."""

    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return all(finding.passed for finding in self.findings)

    @property
    def failed(self) -> tuple[Check, ...]:
        """The checks that failed."""
        return tuple(finding.check for finding in self.findings if not finding.passed)

    def describe(self) -> str:
        """One line for the job's history, with every number."""
        head = "QC passed" if self.passed else f"QC failed: {', '.join(self.failed)}"
        return f"{head} [{'; '.join(finding.describe() for finding in self.findings)}]"


def judge(
    render: RenderStats, expected: Expected, limits: Thresholds = DEFAULT_THRESHOLDS
) -> Verdict:
    """The `Verdict` on ``render`` for ``expected``."""
    if not render.video or not render.frames:
        return Verdict((Finding(Check.NO_VIDEO, False, 0, 1, ", decodable frames"),))
    source = expected.source if expected.source and expected.source.frames else None
    findings = [
        _runs(Check.BLACK, render, source, limits, lambda f: f.black >= limits.black_picture),
        _runs(Check.FROZEN, render, source, limits, lambda f: _frozen(f, limits)),
        _length(render, expected),
    ]
    if render.source_diff is not None:
        findings.append(
            Finding(
                Check.UNEDITED,
                render.source_diff > limits.unedited_diff,
                render.source_diff,
                limits.unedited_diff,
                ", mean difference from the source, must be above",
            )
        )
    if source is not None:
        findings.append(_blur(render, source, limits))
    return Verdict(tuple(findings))


def _frozen(frame: FrameStats, limits: Thresholds) -> bool:
    return frame.change is not None and frame.change < limits.frozen_change


def longest_run(flags: Sequence[bool]) -> int:
    """The longest run of consecutive True values."""
    best = current = 0
    for flag in flags:
        current = current + 1 if flag else 0
        best = max(best, current)
    return best


def _runs(
    check: Check,
    render: RenderStats,
    source: RenderStats | None,
    limits: Thresholds,
    hit: Callable[[FrameStats], bool],
) -> Finding:
    seconds = longest_run([bool(hit(frame)) for frame in render.frames]) / float(render.fps)
    length = len(render.frames) / float(render.fps)
    limit = min(limits.run_s, limits.run_share * length)
    if source is not None:
        own = longest_run([bool(hit(frame)) for frame in source.frames]) / float(source.fps)
        limit = max(limit, own + 1 / float(render.fps))
    return Finding(check, seconds < limit, seconds, limit, f" s, longest {check} run")


def _length(render: RenderStats, expected: Expected) -> Finding:
    wanted = round(expected.seconds * render.fps)
    most = max(wanted, round((expected.longest_s or 0) * render.fps))
    frames = len(render.frames)
    off = wanted - frames if frames < wanted else max(0, frames - most)
    span = f"{wanted}" if most == wanted else f"{wanted}-{most}"
    return Finding(Check.LENGTH, off <= 1, off, 1, f" frames off {span} at {float(render.fps):g}")


def _blur(render: RenderStats, source: RenderStats, limits: Thresholds) -> Finding:
    mine = mean([frame.detail for frame in render.frames])
    theirs = mean([frame.detail for frame in source.frames])
    if theirs < limits.min_source_detail:
        return Finding(Check.BLURRED, True, mine, 0, ", the source has no detail to lose")
    share = mine / theirs
    return Finding(
        Check.BLURRED, share >= limits.detail_share, share, limits.detail_share,
        ", of the source's detail, must reach",
    )  # fmt: skip


def mean(values: Sequence[float]) -> float:
    """The mean of ``values`` (0 when empty)."""
    return sum(values) / len(values) if values else 0.0
