"""Named scenarios: starting points for `EmulatorConfig`.

- ``realistic`` (the default): the providers' documented timings (minutes), retention and
  Runway's tier-1 concurrency of 2 (THROTTLED beyond it); no faults.
- ``calm``: 0.3 s jobs, no limits, no faults. What tests start from.
- ``tight``: fast jobs, one job at a time per Runway key and two elsewhere, 2 requests/s per key.
- ``chaos``: fast jobs, small limits and every fault class at a few percent.
"""

from __future__ import annotations

from collections.abc import Callable

from config.settings import ProviderName
from emulator.config import Distribution, EmulatorConfig, FaultRates, ProviderKnobs, real_providers

TYPICAL_PROCESSING: dict[ProviderName, Distribution] = {
    ProviderName.RUNWAY: Distribution(min_s=120, max_s=240),
    ProviderName.SEGMIND: Distribution(min_s=150, max_s=190),
    ProviderName.AIMLAPI: Distribution(min_s=180, max_s=240),
    ProviderName.VIBEDREAM: Distribution(min_s=30, max_s=90),
    ProviderName.CRUN: Distribution(min_s=150, max_s=250),
    ProviderName.OPENROUTER: Distribution(min_s=120, max_s=240),  # unconfirmed
    ProviderName.COMFY: Distribution(min_s=120, max_s=240),  # Runway's own, passed through
}

CHAOS_FAULTS = FaultRates(
    rate_limited=0.08,
    maintenance=0.02,
    server_error=0.03,
    bad_gateway=0.02,
    unavailable=0.02,
    slow=0.05,
    timeout=0.01,
    malformed=0.02,
    dropped=0.02,
    job_failure=0.05,
    slow_s=1.0,
    timeout_s=35.0,
    retry_after_s=1.0,
)


def _with(**updates: object) -> dict[ProviderName, ProviderKnobs]:
    return {name: knobs.model_copy(update=updates) for name, knobs in real_providers().items()}


def _limited(runway: int, others: int, rate: float | None) -> dict[ProviderName, ProviderKnobs]:
    providers = _with(concurrency=others, rate_per_s=rate)
    providers[ProviderName.RUNWAY] = providers[ProviderName.RUNWAY].model_copy(
        update={"concurrency": runway}
    )
    return providers


def realistic() -> EmulatorConfig:
    """Documented timings and Runway's tier-1 concurrency."""
    providers = {
        name: knobs.model_copy(update={"processing": TYPICAL_PROCESSING[name]})
        for name, knobs in real_providers().items()
    }
    providers[ProviderName.RUNWAY] = providers[ProviderName.RUNWAY].model_copy(
        update={"concurrency": 2}
    )
    return EmulatorConfig(preset="realistic", providers=providers)


def calm() -> EmulatorConfig:
    """Fast jobs, no limits, no faults."""
    return EmulatorConfig(preset="calm", processing=Distribution(min_s=0.3, max_s=0.3))


def tight() -> EmulatorConfig:
    """Fast jobs under small concurrency and rate limits."""
    return EmulatorConfig(
        preset="tight",
        processing=Distribution(min_s=0.3, max_s=0.6),
        providers=_limited(runway=1, others=2, rate=2.0),
    )


def chaos() -> EmulatorConfig:
    """Fast jobs, small limits, every fault class at a few percent."""
    return EmulatorConfig(
        preset="chaos",
        processing=Distribution(min_s=0.2, max_s=1.0),
        faults=CHAOS_FAULTS,
        providers=_limited(runway=2, others=4, rate=None),
    )


PRESETS: dict[str, Callable[[], EmulatorConfig]] = {
    "realistic": realistic,
    "calm": calm,
    "tight": tight,
    "chaos": chaos,
}


def preset(name: str) -> EmulatorConfig:
    """The config of the named preset; KeyError listing the known names otherwise."""
    try:
        factory = PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}") from None
    return factory()
