"""`restyle enqueue` (one clip, for driving the pipeline by hand) and `restyle job`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table

from cli.common import console, fail, redis_client, settings_or_exit, shown
from config.catalogue import provider_spec
from config.redaction import Redactor
from config.settings import ProviderName, Settings
from jobs.clips.record import Clip
from jobs.clips.store import ClipStore
from jobs.ledger import Ledger
from jobs.models import Job, Priority, job_id_for
from jobs.request import EditRequest
from pipeline.callbacks import CALLING_BACK
from pipeline.operations.rerunning import rerun_job, rerun_segment
from producer.checks import control_problems, normal_whitespace
from producer.tally import facts_of, rollup
from providers.errors import InvalidRequest
from providers.registry import validate_request
from workers.factory import outbox, publish, sender


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
        estimated_cost_usd=spec.effective_price.estimate(spec.output_seconds),
    )
    ledger = Ledger.from_settings(settings, redis_client(settings))
    if ledger.add([job])[0]:
        sender(settings)([job])
    console.print(job.id)


OPTION_OF_FIELD = {"video_url": "VIDEO_URL", "reference_image_url": "--reference-image"}


def _checked_request(settings: Settings, provider: ProviderName, **fields: Any) -> EditRequest:
    """The `EditRequest`, or exit 2 naming the option that is wrong."""
    fields["prompt"] = normal_whitespace(fields["prompt"])
    for problem in control_problems(fields["prompt"]):
        raise fail(f"--prompt: {problem}", 2)
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


def show_job(job_id: Annotated[str, typer.Argument(help="a job id or a clip id")]) -> None:
    """Show one job's state and history, or a clip's with one line per segment."""
    settings = settings_or_exit()
    ledger = Ledger.from_settings(settings, redis_client(settings))
    job = ledger.get(job_id)
    if job is None:
        clip = ClipStore(ledger.client).get(job_id)
        if clip is None:
            raise fail(f"no job or clip {job_id}")
        show_clip(clip, ledger.get_many([*clip.segment_ids(), *clip.superseded]))
        return
    job = job.redacted(Redactor.from_settings(settings))
    console.print(
        f"[bold]{shown(job.id)}[/]  {shown(job.batch)}/{shown(job.item)}  {job.provider}  "
        f"[bold]{job.state}[/]"
    )
    for label, value in _facts(job):
        console.print(f"  {label:<12} {shown(value)}", highlight=False)
    table = Table("at", "state", "detail", box=None)
    for event in job.events:
        # Provider words are text, not markup: "[key:...]" must show as written.
        table.add_row(event.at.isoformat(timespec="seconds"), event.state, shown(event.detail))
    console.print(table)


def _clip_route(clip: Clip) -> str:
    if not clip.route:
        return "pinned"
    how = "each segment on its own" if clip.mix_providers else "segments fail over together"
    return f"{','.join(clip.route)} ({how}, policy {clip.policy})"


def show_clip(clip: Clip, jobs: list[Job]) -> None:
    """A clip's state and cost, its segments in order (one row each), the segment jobs its
    re-runs replaced, and its history."""
    by_id = {job.id: job for job in jobs}
    money = rollup(clip, {job.id: facts_of(job) for job in jobs})
    console.print(
        f"[bold]{shown(clip.id)}[/]  {shown(clip.batch)}/{shown(clip.item)}  "
        f"{','.join(money.providers)}  "
        f"[bold]{clip.state}[/]  clip of {money.segments} segments"
    )
    cost = f"${money.cost_usd:.2f} (the sum of its segments' jobs"
    cost += f", {money.reruns} re-run(s) ${money.rerun_usd:.2f})" if money.reruns else ")"
    if money.double_charges:
        cost += (
            f"; {money.double_charges} possibly paid twice, up to ${money.double_charge_usd:.2f}"
        )
    facts = [
        ("source", f"{clip.source_seconds:.2f} s, edited {clip.edit_seconds:.2f} s"),
        ("continuity", clip.continuity.value),
        ("route", _clip_route(clip)),
        ("output size", clip.output_size.value),
        ("seams", seam_handling_text(clip)),
        ("output", clip.output and f"{clip.output.uri} {clip.output.size} bytes"),
        ("segments", f"{money.segments_stored}/{money.segments} stored"),
        ("cost", cost),
        ("failure", clip.failure_message),
    ]
    for label, value in facts:
        if value:
            console.print(f"  {label:<12} {shown(value)}", highlight=False)
    rows = Table("segment", "job", "provider", "state", "seconds", "attempt", "cost",
                 "output / failure", box=None)  # fmt: skip
    for ref in clip.segments:
        job = by_id.get(ref.job_id)
        if job is None:
            rows.add_row(
                f"{ref.index:03d}", shown(ref.job_id), "-", "missing", f"{ref.seconds:.2f}"
            )
            continue
        rows.add_row(f"{ref.index:03d}", *_segment_cells(job, f"{ref.seconds:.2f}"))
    for job_id in clip.superseded:
        if job_id in by_id:
            job = by_id[job_id]
            rows.add_row(f"{job.segment or 0:03d} (replaced)", *_segment_cells(job, "-"))
    console.print(rows)
    if clip.seams:
        console.print(seam_table(clip))
    history = Table("at", "state", "detail", box=None)
    for event in clip.events:
        history.add_row(event.at.isoformat(timespec="seconds"), event.state, shown(event.detail))
    console.print(history)


def seam_handling_text(clip: Clip) -> str:
    """How the clip's seams are handled, in one line."""
    handling = clip.seam_handling
    colour = "colour-matched to segment 1" if handling.colour_match else "no colour match"
    flagged = f", {len(clip.flagged_seams)} flagged" if clip.seams else ""
    return (
        f"{handling.overlap_frames} frames crossfaded, {colour}; flagged over "
        f"{handling.ratio_limit:g}x or histogram {handling.histogram_limit:g}{flagged}"
    )


def seam_table(clip: Clip) -> Table:
    """One row per seam of the stitched output: where, its score and whether it is flagged."""
    table = Table("seam", "at", "jump / ordinary", "ratio", "histogram", "", box=None)
    for seam in clip.seams:
        table.add_row(
            f"{seam.index}-{seam.index + 1}", f"{seam.at_s:.2f} s",
            f"{seam.jump:.2f} / {seam.ordinary:.2f}", f"{seam.ratio:.2f}x",
            f"{seam.histogram:.3f}",
            "[red]FLAGGED[/]" if seam.flagged else "scene cut" if seam.at_cut else "ok",
        )  # fmt: skip
    return table


def _segment_cells(job: Job, seconds: str) -> list[str]:
    outcome = job.output.uri if job.output else (job.failure_message or "")
    cost = job.billed_cost_usd
    if cost is None:
        cost = job.estimated_cost_usd if job.remote_id else 0.0
    return [shown(job.id), job.provider.value, job.state.value, seconds, str(job.attempt),
            f"${cost:.2f}", shown(outcome)]  # fmt: skip


def _facts(job: Job) -> list[tuple[str, str]]:
    facts = [
        ("clip", job.clip_id and f"{job.clip_id} segment {job.segment}"),
        ("remote id", job.remote_id),
        ("attempt", str(job.attempt)),
        ("polls", str(job.polls)),
        ("expires", job.expires_at and job.expires_at.isoformat()),
        ("output", job.output and f"{job.output.uri} {job.output.size} bytes"),
        ("failure", job.failure_kind and f"{job.failure_kind}: {job.failure_message}"),
        ("cost", cost_text(job)),
        ("paid twice?", job.possible_double_charges and _doubled(job)),
        ("paid twice", job.extra_remote_ids and double_charge_text(job)),
        ("route", job.route and f"{','.join(job.route)} ({job.policy})"),
        ("QC re-runs", job.qc_reruns and f"{job.qc_reruns} (each a paid try)"),
        ("QC flagged", job.qc_flags and f"stored though it failed: {', '.join(job.qc_flags)}"),
        *(("moved", line) for line in job.moves),
    ]
    return [(label, str(value)) for label, value in facts if value]


def cost_text(job: Job) -> str:
    """What the job cost, marked billed (the provider's own figure) or estimated (pure)."""
    if job.spend_basis == "billed":
        assert job.billed_cost_usd is not None
        text = f"${job.billed_cost_usd:.2f} billed (${job.estimated_cost_usd:.2f} estimated)"
    else:
        text = f"${job.estimated_cost_usd:.2f} estimated"
    most = job.provider_estimate_usd
    if most is None:
        return text
    if job.remote_id is not None and job.billed_remote_id != job.remote_id:
        until = "no bill came" if job.state.terminal else "until its bill"
        return f"{text}; ${most:.2f} held in the budget: the provider's maximum, {until}"
    return f"{text}; the provider said at most ${most:.2f}"


def double_charge_text(job: Job) -> str:
    """What the provider's own callbacks said of the lost POSTs (pure)."""
    parts = []
    confirmed = job.double_charges_confirmed
    if confirmed and job.double_charge_billed_usd > 0:
        extra = f"{confirmed} extra remote job(s), in the bill"
        parts.append(f"confirmed: paid twice, ${job.double_charge_billed_usd:.2f} ({extra})")
    elif confirmed:
        estimated = confirmed * job.estimated_cost_usd
        parts.append(f"confirmed: paid twice, ${estimated:.2f} estimated ({confirmed} extra "
                     "remote job(s); the provider gives no bill)")  # fmt: skip
    cleared = len(job.extra_remote_ids) - job.double_charges_confirmed
    if cleared:
        parts.append(f"cleared: {cleared} extra remote job(s) billed $0.00")
    return "; ".join(parts) + f" ({', '.join(job.extra_remote_ids)})"


def _doubled(job: Job) -> str:
    if job.provider in CALLING_BACK:
        settles = "the lost POST's callback, if it comes, confirms or clears it"
    else:
        settles = f"{job.provider} offers no way to confirm or clear it"
    return (
        f"{job.possible_double_charges} re-send(s) after a lost answer: possibly paid twice, "
        f"up to ${job.possible_double_charge_usd:.2f} more (counted in the batch's spend); "
        f"{settles}"
    )


def rerun(
    target: Annotated[str, typer.Argument(help="a STORED job's id, or a STORED clip's id")],
    segment: Annotated[
        int | None, typer.Option(help="the clip's segment to re-run (1 is the first)")
    ] = None,
    prompt: Annotated[str | None, typer.Option(help="the new prompt")] = None,
    seed: Annotated[int | None, typer.Option(help="the new seed")] = None,
) -> None:
    """Re-run a stored job, or one segment of a stored clip (then stitched again), with a new
    prompt or seed: a new paid try; the first render is kept and its cost still counts."""
    settings = settings_or_exit()
    client = redis_client(settings)
    ledger = Ledger.from_settings(settings, client)
    clips = ClipStore(client, settings.job_record_ttl_s)
    now = datetime.now(UTC)
    try:
        if clips.get(target) is not None:
            if segment is None:
                raise fail(f"{target} is a clip: say which --segment to re-run", 2)
            outcome = rerun_segment(ledger, clips, settings, target, segment, now, prompt, seed)
        else:
            job = ledger.get(target)
            if job is None:
                raise fail(f"no job or clip {target}")
            outcome = rerun_job(ledger, settings, job, now, prompt, seed)
    except ValueError as exc:
        raise fail(str(exc), 2) from None
    publish(outbox(settings), outcome.sends)
    console.print(outcome.message, highlight=False)
