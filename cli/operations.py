"""`restyle schedules`, `restyle flower`, `restyle demo` and `restyle up`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.common import console, fail, settings_or_exit
from producer.schedules import ScheduleError, batch_name_for, load_schedules, next_run


def schedules() -> None:
    """List the nightly schedules with their next run and the batch it will create."""
    settings = settings_or_exit()
    try:
        found = load_schedules(settings.schedules_file)
    except ScheduleError as exc:
        raise fail(str(exc), 2) from None
    now = datetime.now(UTC)
    table = Table("name", "cron", "timezone", "provider", "source", "next run (UTC)", "batch")
    for schedule in found:
        when = next_run(schedule, now)
        table.add_row(
            schedule.name,
            schedule.cron,
            schedule.timezone,
            schedule.provider.value,
            schedule.source,
            when.isoformat(timespec="minutes"),
            batch_name_for(schedule, when),
        )
    console.print(table if found else f"no schedules in {settings.schedules_file}")


def flower() -> None:
    """Run Flower with basic auth from RESTYLE_FLOWER_BASIC_AUTH (see docs/operations.md)."""
    from workers.flower import main

    main()


def demo(
    clips: Annotated[int, typer.Option(help="how many sample clips")] = 6,
    workdir: Annotated[
        Path | None, typer.Option(help="where logs, clips and the report go")
    ] = None,
) -> None:
    """Run the whole system locally on embedded defaults and a small sample batch."""
    from cli.demo import run_demo

    folder = workdir or Path("var") / f"demo-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    try:
        ok = run_demo(folder.resolve(), clips=clips)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted; every service was stopped[/]")
        raise typer.Exit(130) from None
    raise typer.Exit(0 if ok else 1)


def up(
    workdir: Annotated[
        Path, typer.Option(help="logs, Redis data and the env file (restyle.env)")
    ] = Path("var/up"),
    redis_url: Annotated[
        str | None, typer.Option(help="use this Redis instead of starting one")
    ] = None,
    s3: Annotated[
        bool, typer.Option("--s3", help="use the S3 that RESTYLE_S3_* names, not moto")
    ] = False,
    real_keys: Annotated[
        bool,
        typer.Option(
            "--real-keys", help="use RESTYLE_<PROVIDER>__API_KEYS, not the emulator (paid)"
        ),
    ] = False,
    concurrency: Annotated[int, typer.Option(help="processes per worker")] = 2,
    processing_time: Annotated[
        str, typer.Option(help="the emulator's job time in seconds, MIN:MAX or one value")
    ] = "2:6",
) -> None:
    """Run the whole stack here (Redis, S3, emulator, workers, beat, web, Flower) until Ctrl-C."""
    from cli.up import UpOptions, run_up

    options = UpOptions(workdir.resolve(), redis_url, s3, real_keys, concurrency, processing_time)
    raise typer.Exit(run_up(options))
