"""Which providers may run a job, and which of them runs it next (pure).

A *route* is the ordered tuple of providers a job may run on. The user writes it as one name
(``runway``), a list in order of preference (``runway,segmind``) or ``auto`` (every configured
provider); `parse_route` reads that. `eligible` keeps the providers whose catalogue limits
accept the job (aspect ratio, input size, container, edit window, reference image, seed, price)
and says why each other one refused. At submit time a `Policy` picks one of the eligible
providers that can take work now (`choose`), from live limiter state.

A route of one provider pins the job there (clip segments that must share a style use this).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from config.catalogue import ProviderSpec
from config.settings import ProviderName
from media.plan import PlanError, plan_segments

AUTO = "auto"


class Policy(StrEnum):
    """How the submit step picks among a job's eligible providers."""

    CHEAPEST = "cheapest"
    """The lowest price for this job; free capacity breaks ties."""
    FASTEST = "fastest"
    """The shortest typical job time; price breaks ties."""
    SPREAD = "spread"
    """The most free capacity (least queued per slot), for the shortest makespan."""


class RouteError(ValueError):
    """A provider spec that names no provider, or an unknown one."""


def parse_route(text: str, configured: Iterable[ProviderName]) -> tuple[ProviderName, ...]:
    """``runway``, ``runway,segmind`` or ``auto`` as an ordered tuple of providers.

    ``auto`` is every configured provider, in catalogue order. Repeats are dropped.
    """
    parts = [part.strip().lower() for part in text.split(",") if part.strip()]
    if not parts:
        raise RouteError("names no provider: give one, a comma-separated list, or auto")
    if AUTO in parts:
        if len(parts) > 1:
            raise RouteError("auto stands alone: it already means every configured provider")
        found = tuple(name for name in ProviderName if name in set(configured))
        if not found:
            raise RouteError("auto, but no provider has an API key configured")
        return found
    route: list[ProviderName] = []
    for part in parts:
        try:
            name = ProviderName(part)
        except ValueError:
            allowed = ", ".join([*(p.value for p in ProviderName), AUTO])
            raise RouteError(f"unknown provider {part!r}; allowed: {allowed}") from None
        if name not in route:
            route.append(name)
    return tuple(route)


def route_text(route: Sequence[ProviderName]) -> str:
    """The route as the user would write it."""
    return ",".join(name.value for name in route)


@dataclass(frozen=True)
class Need:
    """What one job asks of a provider; None where it is unknown (not yet probed)."""

    aspect_ratio: str | None = None
    size_bytes: int | None = None
    container: str | None = None
    duration_s: float | None = None
    reference_image: bool = False
    seed: bool = False


@dataclass(frozen=True)
class Refusal:
    """Why ``provider`` cannot take the job; ``field`` is the manifest column at fault."""

    provider: ProviderName
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.provider}: {self.reason}"


PRICING_FPS = 24.0
"""The frame rate a clip is priced at when its own is unknown (segment counts do not depend on
it beyond a frame's rounding)."""


@dataclass(frozen=True)
class Quote:
    """What one provider charges for a whole clip: ``runs`` paid jobs (its segments) covering
    ``billed_seconds`` (overlaps counted twice), ``cost_usd`` in all."""

    provider: ProviderName
    runs: int
    billed_seconds: float
    cost_usd: float


def quote(
    spec: ProviderSpec,
    source_seconds: float,
    max_seconds: float | None = None,
    fps: float = PRICING_FPS,
) -> Quote:
    """The price of editing ``source_seconds`` (or its first ``max_seconds``) on ``spec``'s
    provider: as many runs as its edit window needs, each at least its minimum charge, the
    segments the cutter would make (the same planner, without scene cuts).

    A per-run price is paid once per segment, so a 5.3 s clip costs a 5 s reseller two runs,
    where a 30 s window edits it in one. A source too short for the window is priced as one
    run (the plan refuses it elsewhere).
    """
    price = spec.effective_price
    try:
        plan = plan_segments(source_seconds, fps, spec.window, (), max_seconds)
    except PlanError:
        seconds = min(source_seconds, spec.output_seconds)
        return Quote(spec.name, 1, seconds, price.estimate(seconds))
    lengths = [plan.duration_s(segment) for segment in plan.segments]
    cost = sum(price.estimate(min(length, spec.output_seconds)) for length in lengths)
    return Quote(spec.name, len(lengths), round(sum(lengths), 3), round(cost, 4))


def one_run_route(
    route: Sequence[ProviderName],
    specs: dict[ProviderName, ProviderSpec],
    source_seconds: float,
    max_seconds: float | None = None,
) -> tuple[ProviderName, ...]:
    """The providers of ``route`` that edit the whole source in one run (its window covers it).

    A source planned as one job (not a clip) may go only to these: a 5 s reseller given a 5.3 s
    job would edit its first 5 s and drop the rest.
    """
    return tuple(
        name for name in route if quote(specs[name], source_seconds, max_seconds).runs == 1
    )


def price_per_second(spec: ProviderSpec, output_seconds: float | None = None) -> float:
    """USD per second of output for a job of ``output_seconds`` (default: the spec's)."""
    seconds = min(output_seconds or spec.output_seconds, spec.output_seconds)
    return spec.effective_price.estimate(seconds) / seconds


def refusals(
    spec: ProviderSpec,
    need: Need,
    *,
    configured: bool = True,
    max_price_per_second: float | None = None,
) -> list[Refusal]:
    """Every reason ``spec``'s provider refuses ``need`` (empty: it accepts the job)."""
    name = spec.name
    found = [] if configured else [Refusal(name, "provider", "has no API key configured")]
    found.extend(_media_refusals(spec, need))
    if need.aspect_ratio is not None and need.aspect_ratio not in spec.ratios:
        ratios = ", ".join(spec.ratios)
        found.append(Refusal(name, "aspect_ratio", f"takes {ratios}, not {need.aspect_ratio}"))
    if need.reference_image and not spec.accepts_reference_image:
        found.append(Refusal(name, "reference_image", "takes no reference image"))
    if need.seed and not spec.accepts_seed:
        found.append(Refusal(name, "seed", "takes no seed"))
    if max_price_per_second is not None:
        price = price_per_second(spec, need.duration_s)
        if price > max_price_per_second + 1e-9:
            reason = f"costs ${price:.3f}/s, over --max-price-per-second ${max_price_per_second:g}"
            found.append(Refusal(name, "provider", reason))
    return found


def _media_refusals(spec: ProviderSpec, need: Need) -> list[Refusal]:
    limits, name = spec.limits, spec.name
    found: list[Refusal] = []
    if need.size_bytes is not None and need.size_bytes > limits.max_bytes:
        size = f"{need.size_bytes / 2**20:.1f} MiB"
        found.append(
            Refusal(name, "source", f"takes at most {limits.max_bytes >> 20} MiB, not {size}")
        )
    if need.container is not None and need.container not in limits.containers:
        allowed = ", ".join(limits.containers)
        found.append(Refusal(name, "source", f"takes {allowed}, not {need.container}"))
    if need.duration_s is not None and need.duration_s > limits.max_source_seconds:
        window = f"{limits.max_source_seconds:g} s"
        found.append(
            Refusal(name, "source", f"edits at most {window}, not {need.duration_s:.1f} s")
        )
    return found


@dataclass(frozen=True)
class Eligibility:
    """The providers of a route that accept a job (in route order), and why the rest refuse."""

    providers: tuple[ProviderName, ...]
    refused: tuple[Refusal, ...]


def eligible(
    route: Sequence[ProviderName],
    specs: dict[ProviderName, ProviderSpec],
    need: Need,
    *,
    configured: Iterable[ProviderName],
    max_price_per_second: float | None = None,
) -> Eligibility:
    """Which providers of ``route`` accept ``need``, with every refusal of the others."""
    have = set(configured)
    accepted: list[ProviderName] = []
    refused: list[Refusal] = []
    for name in route:
        found = refusals(
            specs[name], need, configured=name in have, max_price_per_second=max_price_per_second
        )
        refused.extend(found)
        if not found:
            accepted.append(name)
    return Eligibility(tuple(accepted), tuple(refused))


@dataclass(frozen=True)
class Option:
    """One provider the job could go to now, with what the policies weigh.

    ``capacity`` is the concurrency of its keys that take work; ``queued`` the jobs running or
    parked on them.
    """

    provider: ProviderName
    price_usd: float
    typical_s: float
    capacity: int
    queued: int

    @property
    def load(self) -> float:
        """Queued jobs per slot: 0 is idle, 1 is full, above 1 is a queue."""
        return self.queued / max(self.capacity, 1)


def choose(policy: Policy, options: Sequence[Option]) -> Option | None:
    """The option ``policy`` picks (None when there is none); route order breaks last ties."""
    if not options:
        return None
    order = {option.provider: index for index, option in enumerate(options)}

    def rank(option: Option) -> tuple[float, ...]:
        if policy is Policy.CHEAPEST:
            head: tuple[float, ...] = (round(option.price_usd, 6), option.load)
        elif policy is Policy.FASTEST:
            head = (option.typical_s, round(option.price_usd, 6))
        else:
            head = (option.load, -(option.capacity - option.queued), round(option.price_usd, 6))
        return (*head, order[option.provider])

    return min(options, key=rank)
