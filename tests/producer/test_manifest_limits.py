"""Large manifests: refused past their limit before a row is read, and each distinct source is
probed once however many rows name it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from config.settings import Settings
from media.probe import VideoInfo, probe
from producer.batch import SubmitOptions, plan_batch
from producer.manifest import ManifestProblems

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def test_a_manifest_over_its_limit_is_refused_naming_the_file_and_the_setting(
    producer_settings: Settings, s3: S3Client, clips: Path, tmp_path: Path
) -> None:
    manifest = tmp_path / "library.csv"
    manifest.write_text("source,key\n" + "".join(f"{clips}/alpha.mp4,k{i}\n" for i in range(200)))
    settings = producer_settings.model_copy(update={"manifest_max_bytes": 2048})
    options = SubmitOptions(prompt="make it winter", provider="segmind", dry_run=True)
    with pytest.raises(ManifestProblems) as caught:
        plan_batch(str(manifest), options, settings, datetime.now(UTC), s3=s3)
    (error,) = caught.value.errors
    assert error.file == str(manifest) and error.line is None
    limit = "bytes is over the manifest limit of 2,048 bytes (RESTYLE_MANIFEST_MAX_BYTES)"
    assert limit in str(error)


def test_rows_that_repeat_a_source_are_probed_once(
    producer_settings: Settings, s3: S3Client, clips: Path, tmp_path: Path
) -> None:
    manifest = tmp_path / "library.csv"
    names = ("alpha.mp4", "beta.mp4")
    rows = "".join(f"{clips}/{names[i % 2]},k{i},prompt {i}\n" for i in range(300))
    manifest.write_text("source,key,prompt\n" + rows)
    probed: list[str] = []

    def counting(target: str) -> VideoInfo:
        probed.append(target)
        return probe(target)

    options = SubmitOptions(provider="segmind", dry_run=True)
    plan = plan_batch(
        str(manifest), options, producer_settings, datetime.now(UTC), s3=s3, probe=counting
    )
    assert not plan.problems and len(plan.jobs) == 300
    assert sorted(probed) == sorted(str(clips / name) for name in names)
