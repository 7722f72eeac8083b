"""Long sources in the plan: a clip of billed segments, what --max-seconds drops, and the bad
input preflight refuses by row and field with nothing queued."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import av
import numpy as np
import pytest

from cli.dry_run import clip_lines
from config.settings import DEFAULT_SEAMS, ProviderName, Settings
from jobs.clips.record import Continuity
from jobs.routes import Policy
from media.samples import make_av_clip, make_clip
from producer.batch import SubmitOptions, plan_batch

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def options(**changes: object) -> SubmitOptions:
    values: dict[str, object] = {
        "prompt": "make it winter", "provider": ProviderName.SEGMIND, "batch": "long",
        "dry_run": True,
    }  # fmt: skip
    return SubmitOptions(**{**values, **changes})  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_av_clip(tmp_path_factory.mktemp("long") / "long.mp4", 17.0, 160, 96, 24)


def test_a_17_s_source_is_one_clip_of_four_segments_each_billed(
    producer_settings: Settings, s3: S3Client, long_clip: Path
) -> None:
    plan = plan_batch(str(long_clip), options(), producer_settings, NOW, s3=s3)

    assert plan.problems == []
    (planned,) = plan.jobs
    assert planned.clip is not None
    assert planned.clip.planned_segments == len(planned.segments) == 4
    assert planned.clip.continuity is Continuity.ANCHOR  # segmind takes a reference image
    assert plan.summary.jobs == 4
    assert plan.summary.cost_usd == pytest.approx(4 * 1.125)
    # Each of the 3 seams is crossfaded over 6 frames the later segment is sent too: billed.
    assert DEFAULT_SEAMS.overlap_frames == 6
    assert sum(job.source_seconds or 0 for job in planned.segments) == pytest.approx(17.75)
    (summary, line) = clip_lines(plan)
    assert "1 clip(s) cut into 4 segments: 4 paid runs, 17.8 s billed" in summary
    assert "dropped" not in line


def test_max_seconds_edits_only_the_start_and_the_plan_says_the_rest_is_dropped(
    producer_settings: Settings, s3: S3Client, long_clip: Path
) -> None:
    plan = plan_batch(str(long_clip), options(max_seconds=8), producer_settings, NOW, s3=s3)

    (planned,) = plan.jobs
    assert planned.clip is not None and len(planned.segments) == 2
    assert planned.clip.dropped_seconds == pytest.approx(9.0)
    assert plan.summary.cost_usd == pytest.approx(2 * 1.125)
    assert "the last 9.0 s are dropped (--max-seconds)" in clip_lines(plan)[1]


def test_a_budget_counts_every_segment(
    producer_settings: Settings, s3: S3Client, long_clip: Path
) -> None:
    plan = plan_batch(str(long_clip), options(budget_usd=3.0), producer_settings, NOW, s3=s3)

    assert plan.over_budget  # one job would be $1.125; four segments are $4.50


def audio_only(path: Path) -> Path:
    with av.open(str(path), mode="w", format="mp4") as output:
        stream = output.add_stream("aac", rate=48_000)
        stream.layout = "stereo"
        for index in range(50):
            samples = np.zeros((2, 1024), dtype=np.float32)
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="stereo")
            frame.sample_rate, frame.pts = 48_000, index * 1024
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return path


def test_bad_sources_and_options_are_refused_by_row_and_field(
    producer_settings: Settings, s3: S3Client, long_clip: Path, tmp_path: Path
) -> None:
    short = make_clip(tmp_path / "short.mp4", seconds=1.0, width=160, height=96)
    sound = audio_only(tmp_path / "sound.mp4")
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"source,provider\n{short},runway\n{sound},\n{long_clip},\n")

    plan = plan_batch(str(manifest), options(), producer_settings, NOW, s3=s3)
    zero = plan_batch(str(long_clip), options(max_seconds=0), producer_settings, NOW, s3=s3)

    found = {(p.row, p.field): p.message for p in plan.problems}
    assert set(found) == {(2, "source"), (3, "source")}
    assert "shorter than aleph2's minimum of 2 s" in found[2, "source"]
    assert "no video stream" in found[3, "source"]
    assert [planned.row for planned in plan.jobs] == [4]
    ((row, field, message),) = [(p.row, p.field, p.message) for p in zero.problems]
    assert (row, field) == (1, "max_seconds") and "must be positive" in message
    assert len(zero.jobs) == 0


def variable_rate_prores(path: Path) -> Path:
    """A ProRes MOV whose frames are 1/24 or 1/12 s apart (variable frame rate)."""
    with av.open(str(path), mode="w", format="mov") as output:
        stream = output.add_stream("prores_ks", rate=24)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv422p10le"
        stream.time_base = Fraction(1, 24)
        pts = 0
        for index in range(150):
            image = np.full((180, 320, 3), (index * 5) % 256, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv422p10le")
            frame.pts = pts
            pts += 1 if index % 2 else 2
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return path


def test_a_variable_rate_prores_master_is_accepted_and_the_plan_says_it_is_normalised(
    producer_settings: Settings, s3: S3Client, tmp_path: Path
) -> None:
    master = variable_rate_prores(tmp_path / "master.mov")

    plan = plan_batch(str(master), options(), producer_settings, NOW, s3=s3)

    assert plan.problems == []
    (planned,) = plan.jobs
    assert planned.clip is not None
    assert "prores MOV -> H.264 MP4" in planned.normalised
    assert "normalised: prores MOV -> H.264 MP4" in clip_lines(plan)[1]


def test_a_short_source_with_sound_or_another_shape_is_a_clip_of_one_segment(
    producer_settings: Settings, s3: S3Client, tmp_path: Path
) -> None:
    # The provider's edit comes back silent, at 24 fps and at its ratio's frame: only the
    # stitch can put the sound back and conform the frames to the source's.
    voiced = make_av_clip(tmp_path / "voiced.mp4", 3.0, 160, 96, 24)
    silent = make_clip(tmp_path / "silent.mp4", 3.0, 160, 96, 24)
    native = make_clip(tmp_path / "native.mp4", 3.0, 1280, 720, 24)

    (with_sound,) = plan_batch(str(voiced), options(), producer_settings, NOW, s3=s3).jobs
    silent_plan = plan_batch(str(silent), options(), producer_settings, NOW, s3=s3)
    (without,) = silent_plan.jobs
    (as_is,) = plan_batch(str(native), options(), producer_settings, NOW, s3=s3).jobs

    assert with_sound.clip is not None and with_sound.clip.planned_segments == 1
    assert with_sound.job.estimated_cost_usd == without.job.estimated_cost_usd == 1.125
    assert without.clip is not None and without.video.has_audio is False
    assert without.clip.planned_segments == 1
    assert without.clip.request.aspect_ratio == "16:9"  # 5:3 is nearest 16:9
    assert without.normalised == ("padded to 16:9 (170x96), cropped back after the edit",)
    assert "sent as 16:9, stored as silent.mp4" in clip_lines(silent_plan)[1]
    # The model's own shape and rate, silent and within its window: one job, as it is.
    assert as_is.clip is None


def test_a_clip_may_fail_over_only_to_providers_that_take_the_same_cut(
    producer_settings: Settings, s3: S3Client, long_clip: Path
) -> None:
    route = "segmind,runway,aimlapi,vibedream"
    plan = plan_batch(str(long_clip), options(provider=route, policy=Policy.FASTEST),
                      producer_settings, NOW, s3=s3)  # fmt: skip

    (planned,) = plan.jobs
    assert planned.clip is not None
    # runway's aleph2 cuts other windows; vibedream takes no seed, so its seams would differ.
    assert planned.clip.route == (ProviderName.SEGMIND, ProviderName.AIMLAPI)
    assert {job.route for job in planned.segments} == {planned.clip.route}


def test_outputs_are_named_after_their_source_with_a_suffix_only_on_a_collision(
    producer_settings: Settings, s3: S3Client, tmp_path: Path
) -> None:
    # The issue: "bigbuckbunny-78cc833875cb.mp4" does not drop into a project.
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        make_clip(tmp_path / folder / "shot.mp4", 1.5, 160, 96, 24)
    make_clip(tmp_path / "a" / "bigbuckbunny.mp4", 1.5, 160, 96, 24)
    manifest = tmp_path / "library.csv"
    rows = ["a/bigbuckbunny.mp4", "a/shot.mp4", "b/shot.mp4"]
    manifest.write_text("source\n" + "".join(f"{tmp_path / row}\n" for row in rows))

    plan = plan_batch(str(manifest), options(), producer_settings, NOW, s3=s3)

    names = sorted(str(planned.job.output_name) for planned in plan.jobs)
    assert names[0] == "bigbuckbunny"
    # Two sources named shot.mp4 in one batch: each keeps its item's suffix, and they differ.
    assert names[1].startswith("shot-") and names[2].startswith("shot-") and names[1] != names[2]
    for planned in plan.jobs:
        assert planned.clip is not None and planned.clip.output_name == planned.job.output_name
