"""Preflight with several providers: the eligible set per row, and a row none of them takes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from config.settings import ProviderName, Settings
from jobs.routes import Policy
from producer.batch import SubmitOptions, plan_batch
from tests.producer.conftest import provider_keys

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
P = ProviderName


def test_auto_keeps_the_configured_providers_that_accept_each_row(
    producer_settings: Settings, s3: S3Client, library: str, tmp_path: Path
) -> None:
    # Configured: every provider but crun. 21:9 is refused by vibedream; seeds too.
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        "source,key,provider,aspect_ratio,seed\n"
        f"{library}alpha.mp4,any,,,\n"
        f"{library}alpha.mp4,wide,,21:9,\n"
        f'{library}alpha.mp4,listed,"vibedream,segmind",,\n'
        f"{library}alpha.mp4,seeded,vibedream,,3\n"
    )
    options = SubmitOptions(prompt="snow", provider="auto", batch="b1", policy=Policy.SPREAD)
    plan = plan_batch(str(manifest), options, producer_settings, NOW, s3=s3)
    jobs = {planned.job.item: planned.job for planned in plan.jobs}
    assert jobs["any"].route == (P.RUNWAY, P.SEGMIND, P.AIMLAPI, P.VIBEDREAM, P.OPENROUTER,
                                 P.COMFY)  # fmt: skip
    assert jobs["any"].policy == "spread"
    assert jobs["wide"].route == (P.RUNWAY, P.SEGMIND, P.AIMLAPI, P.OPENROUTER, P.COMFY)
    assert (jobs["listed"].route, jobs["listed"].provider) == (
        (P.VIBEDREAM, P.SEGMIND),
        P.VIBEDREAM,
    )
    assert [(p.row, p.field) for p in plan.problems] == [(5, "seed")]
    assert "vibedream" in plan.problems[0].message


def test_a_row_no_configured_provider_accepts_is_refused_with_each_providers_reason(
    producer_settings: Settings, s3: S3Client, library: str, tmp_path: Path
) -> None:
    # Only segmind and vibedream have keys; vibedream refuses 21:9, and for this 2.5 s clip all
    # three cost more than $0.2 per second (runway $0.28/s, segmind bills $1.125 a run,
    # vibedream at least $1).
    settings = Settings(
        redis_url=producer_settings.redis_url,
        s3_endpoint_url=producer_settings.s3_endpoint_url,
        s3_bucket=producer_settings.s3_bucket,
        allow_private_sources=True,
        **provider_keys(P.SEGMIND, P.VIBEDREAM),  # type: ignore[arg-type]
    )
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"source,key,aspect_ratio\n{library}alpha.mp4,wide,21:9\n")
    options = SubmitOptions(
        prompt="snow", provider="runway,segmind,vibedream", batch="b2", max_price_per_second=0.2
    )
    plan = plan_batch(str(manifest), options, settings, NOW, s3=s3)
    assert len(plan.jobs) == 0
    found = [(p.row, p.field, p.message) for p in plan.problems]
    prefix = "no provider of runway,segmind,vibedream accepts the row; "
    assert found == [
        (2, "provider", prefix + "runway has no API key: set RESTYLE_RUNWAY__API_KEYS"),
        (2, "provider", prefix + "runway costs $0.280/s, over --max-price-per-second $0.2"),
        (2, "provider", prefix + "segmind costs $0.450/s, over --max-price-per-second $0.2"),
        (2, "aspect_ratio", prefix + found[3][2].removeprefix(prefix)),
        (2, "provider", prefix + "vibedream costs $0.400/s, over --max-price-per-second $0.2"),
    ]
    assert found[3][2].startswith(prefix + "vibedream:") and "21:9" in found[3][2]
