"""`restyle enqueue` (one clip, for driving the pipeline by hand) and `restyle job`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table

from cli.common import console, fail, redis_client, settings_or_exit
from config.catalogue import provider_spec
from config.settings import ProviderName, Settings
from jobs.ledger import Ledger
from jobs.models import Job, Priority, job_id_for
from providers.errors import InvalidRequest
from providers.registry import validate_request
from providers.request import EditRequest


def enqueue(
    video_url: Annotated[str, typer.Argument(help="https (or presigned) URL of the source clip")],
    prompt: Annotated[str, typer.Option(help="the edit instruction")],
    provider: Annotated[ProviderName, typer.Option(help="which hosted API runs the edit")],
    aspect_ratio: Annotated[
        str | None, typer.Option(help="16:9, 9:16, 4:3, 3:4, 1:1, 21:9")
    ] = None,
    seed: Annotated[int | None, typer.Option()] = None,
    reference_image: Annotated[str | None, typer.Option()] = None,
    batch: Annotated[str, typer.Option(help="batch name")] = "adhoc",
    item: Annotated[str | None, typer.Option(help="item key (default: a new one)")] = None,
    priority: Annotated[Priority, typer.Option()] = Priority.INTERACTIVE,
) -> None:
    """Queue one edit job and print its id."""
    settings = settings_or_exit()
    request = _checked_request(
        settings,
        provider,
        video_url=video_url,
        prompt=prompt,
        aspect_ratio=aspect_ratio,
        seed=seed,
        reference_image_url=reference_image,
    )
    now = datetime.now(UTC)
    item = item or now.strftime("%Y%m%dT%H%M%S%f")
    spec = provider_spec(provider, settings)
    job = Job(
        id=job_id_for(batch, item),
        batch=batch,
        item=item,
        provider=provider,
        request=request,
        source=video_url,
        priority=priority,
        created_at=now,
        updated_at=now,
        estimated_cost_usd=spec.price.estimate(spec.output_seconds),
    )
    if Ledger(redis_client(settings), settings.job_record_ttl_s).add([job])[0]:
        from workers.app import app
        from workers.dispatch import dispatch_jobs

        dispatch_jobs(app, [job])
    console.print(job.id)


OPTION_OF_FIELD = {"video_url": "VIDEO_URL", "reference_image_url": "--reference-image"}


def _checked_request(settings: Settings, provider: ProviderName, **fields: Any) -> EditRequest:
    """The `EditRequest`, or exit 2 naming the option that is wrong."""
    try:
        request = EditRequest(**fields)
        validate_request(provider, settings, request)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0])
        option = OPTION_OF_FIELD.get(name, "--" + name.replace("_", "-"))
        raise fail(f"{option}: {first['msg']}", 2) from None
    except InvalidRequest as exc:
        raise fail(str(exc), 2) from None
    return request


def show_job(job_id: Annotated[str, typer.Argument()]) -> None:
    """Show one job's state and history."""
    settings = settings_or_exit()
    job = Ledger(redis_client(settings), settings.job_record_ttl_s).get(job_id)
    if job is None:
        raise fail(f"no job {job_id}")
    console.print(
        f"[bold]{job.id}[/]  {job.batch}/{job.item}  {job.provider}  [bold]{job.state}[/]"
    )
    for label, value in _facts(job):
        console.print(f"  {label:<12} {value}")
    table = Table("at", "state", "detail", box=None)
    for event in job.events:
        table.add_row(event.at.isoformat(timespec="seconds"), event.state, event.detail)
    console.print(table)


def _facts(job: Job) -> list[tuple[str, str]]:
    facts = [
        ("remote id", job.remote_id),
        ("attempt", str(job.attempt)),
        ("polls", str(job.polls)),
        ("expires", job.expires_at and job.expires_at.isoformat()),
        ("output", job.output and f"{job.output.uri} {job.output.size} bytes"),
        ("failure", job.failure_kind and f"{job.failure_kind}: {job.failure_message}"),
        ("route", job.route and f"{','.join(job.route)} ({job.policy})"),
        *(("moved", line) for line in job.moves),
    ]
    return [(label, str(value)) for label, value in facts if value]
