"""`restyle timeline`: a submitted edit handed back with its shots' restyled media."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import console, fail, redis_client, settings_or_exit
from jobs.batches import BatchStore
from jobs.clips.store import ClipStore
from producer.timelines.export import (
    downloaded,
    load_timeline,
    restyle_timeline,
    s3_url,
    write_timeline,
)
from producer.timelines.ranges import is_timeline_name
from storage.s3 import s3_client


def timeline(
    batch: Annotated[str, typer.Argument(help="a batch submitted from a timeline")],
    out: Annotated[Path, typer.Option("-o", "--output", help=".otio, .edl or .xml to write")],
    download: Annotated[
        Path | None,
        typer.Option(help="fetch the outputs into this folder and point the timeline at them"),
    ] = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace", help="keep only the restyled media (EDL and FCP7 XML carry one anyway)"
        ),
    ] = False,
) -> None:
    """Write BATCH's timeline with each shot's restyled media made active."""
    if not is_timeline_name(out.name):
        raise fail(f"{out}: use .otio, .edl or .xml", 2)
    settings = settings_or_exit()
    client = redis_client(settings)
    record = BatchStore(client).get(batch)
    uri = record.options.get("timeline") if record is not None else None
    if not uri:
        raise fail(f"batch {batch} was not submitted from a timeline", 2)
    s3 = s3_client(settings)
    edit = load_timeline(s3, str(uri))
    store = ClipStore(client)
    clips = {clip.item: clip for clip in store.get_many(store.batch_ids(batch))}
    media = downloaded(s3, download) if download is not None else s3_url
    done = restyle_timeline(edit, clips, media, replace=replace)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_timeline(edit, out)
    console.print(f"timeline: {out.resolve()} ({done.restyled} clip(s) restyled)", highlight=False)
    for item in done.kept:
        console.print(f"  kept the original media of {item} (not stored)", highlight=False)
