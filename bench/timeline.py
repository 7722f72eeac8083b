"""``python -m bench.timeline``: what an edit costs restyled by its used ranges, against its
sources restyled whole.

Makes an edit the way a cut uses camera files (``--sources`` files of ``--source-seconds``,
``--shots`` shots of ``--shot-seconds`` spread over them, every fourth shot reusing part of the
previous one from the same source), plans it as ``restyle submit edit.otio --dry-run`` does
(each file probed with PyAV, the ranges placed by their timecode), and prints one JSON line:
billed seconds, runs and cost of the ranges (with ``--handles``), the same for the sources whole
(the same-run baseline), and their ratio. Nothing is sent to a provider.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import opentimelineio as otio

from config.settings import ProviderName, Settings
from devstack.stack import dev_key
from media.samples import make_av_clip
from producer.batch import SubmitOptions, plan_batch
from producer.timelines.ranges import TimelineChoices
from storage.s3 import s3_client

RATE = 24
HOUR = 86_400


def make_edit(folder: Path, sources: int, source_s: float, shots: int, shot_s: float) -> Path:
    names = []
    for index in range(sources):
        path = folder / f"CAM{index + 1:03d}.mp4"
        make_av_clip(path, source_s, 160, 90, RATE, timecode="01:00:00:00")
        names.append(path)
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    length, frames = round(source_s * RATE), round(shot_s * RATE)
    per_source = max(1, -(-shots // sources))
    stride = (length - frames) // per_source
    previous: tuple[Path, int] | None = None
    for shot in range(shots):
        if shot % 4 == 3 and previous is not None:  # part of the previous shot, used again
            path, start = previous[0], previous[1] + frames // 2
        else:
            path, start = names[shot % sources], (shot // sources) * stride + RATE
        start = max(0, min(start, length - frames))
        previous = (path, start)
        media = otio.schema.ExternalReference(
            target_url=path.resolve().as_uri(),
            available_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(HOUR, RATE), otio.opentime.RationalTime(length, RATE)
            ),
        )
        used = otio.opentime.TimeRange(
            otio.opentime.RationalTime(HOUR + start, RATE), otio.opentime.RationalTime(frames, RATE)
        )
        track.append(otio.schema.Clip(name=path.stem, media_reference=media, source_range=used))
    timeline = otio.schema.Timeline(name="bench")
    timeline.tracks.append(track)
    edit = folder / "edit.otio"
    otio.adapters.write_to_file(timeline, str(edit))
    return edit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=3)
    parser.add_argument("--source-seconds", type=float, default=60.0)
    parser.add_argument("--shots", type=int, default=12)
    parser.add_argument("--shot-seconds", type=float, default=2.5)
    parser.add_argument("--handles", type=int, default=12)
    parser.add_argument("--provider", default="segmind")
    args = parser.parse_args()
    provider = ProviderName(args.provider)
    # A dry run presigns staged names (local math) and uploads nothing: any credentials do.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "bench")
    with tempfile.TemporaryDirectory(prefix="bench-timeline-") as name:
        folder = Path(name)
        edit = make_edit(folder, args.sources, args.source_seconds, args.shots, args.shot_seconds)
        keys = {provider.value: {"api_keys": [dev_key(provider)]}}
        settings = Settings.model_validate({"s3_endpoint_url": "http://127.0.0.1:9", **keys})
        options = SubmitOptions(
            prompt="film noir",
            provider=provider.value,
            dry_run=True,
            timeline=TimelineChoices(handles=args.handles),
        )
        plan = plan_batch(str(edit), options, settings, datetime.now(UTC), s3=s3_client(settings))
    savings = plan.savings
    assert savings is not None, plan.problems
    runs = sum(len(planned.billed) for planned in plan.jobs)
    print(
        json.dumps(
            {
                "bench": "timeline",
                "provider": provider.value,
                "shots": args.shots,
                "ranges": savings.ranges,
                "sources": savings.sources,
                "runs": runs,
                "billed_s": round(savings.billed_s, 2),
                "cost_usd": round(savings.cost_usd, 2),
                "baseline_whole_billed_s": round(savings.whole_billed_s, 2),
                "baseline_whole_cost_usd": round(savings.whole_cost_usd, 2),
                "ratio_cost": round(savings.cost_usd / savings.whole_cost_usd, 3),
                "problems": [str(problem) for problem in plan.problems],
            }
        )
    )


if __name__ == "__main__":
    main()
