"""Printing a batch plan (the dry run) and what an enqueue did."""

from __future__ import annotations

from rich.table import Table

from cli.common import console, errors, shown
from producer.batch import BatchPlan, EnqueueResult
from producer.preflight import PlannedJob
from producer.timelines.ranges import EditSavings


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def print_plan(plan: BatchPlan) -> None:
    """Jobs, cost and wall time per provider; then every problem with its row and field."""
    # Every job is one paid run: a clip's segments are counted one by one.
    table = Table(
        "provider",
        "paid runs",
        "billed s",
        "est. cost",
        "est. wall time",
        title=f"batch {shown(plan.batch)}",
    )
    for share in plan.summary.providers:
        table.add_row(
            share.provider.value,
            str(share.jobs),
            f"{share.billed_seconds:.1f}",
            f"${share.cost_usd:.2f}",
            _duration(share.wall_s),
        )
    billed = sum(share.billed_seconds for share in plan.summary.providers)
    table.add_row(
        "[bold]total",
        f"[bold]{plan.summary.jobs}",
        f"[bold]{billed:.1f}",
        f"[bold]${plan.summary.cost_usd:.2f}",
        f"[bold]{_duration(plan.summary.wall_s)}",
    )
    console.print(table)
    console.print(f"outputs: {shown(plan.output_prefix)}/{shown(plan.batch)}/")
    for line in clip_lines(plan):
        console.print(shown(line), highlight=False)
    if plan.savings is not None:
        console.print(savings_line(plan.savings), highlight=False)
    if plan.options.budget_usd is not None:
        verdict = "[red]over budget[/]" if plan.over_budget else "within budget"
        console.print(f"budget: ${plan.options.budget_usd:.2f} ({verdict})")
    for warning in plan.warnings:
        errors.print(f"[yellow]warning:[/] {shown(warning)}", highlight=False)
    for problem in plan.problems:
        source = problem.source if problem.source and problem.source != problem.file else ""
        errors.print(f"[red]{shown(source)}[/] {shown(problem)}", highlight=False)
    if plan.problem_count > len(plan.problems):
        hidden = plan.problem_count - len(plan.problems)
        errors.print(f"[red]... and {hidden} more problem(s)[/] ({plan.problem_count} in all)")


def savings_line(savings: EditSavings) -> str:
    """What editing only the timeline's ranges saves against its sources whole."""
    return (
        f"timeline: {savings.ranges} range(s) of {savings.sources} source(s): "
        f"{savings.billed_s:.1f} s billed, ${savings.cost_usd:.2f}; the sources whole would be "
        f"{savings.whole_billed_s:.1f} s, ${savings.whole_cost_usd:.2f} "
        f"({savings.saved_fraction:.0%} saved)"
    )


CLIP_LINES = 50
"""Clips the dry run describes one by one; the rest are counted (a library may hold thousands)."""


def clip_lines(plan: BatchPlan) -> list[str]:
    """What the plan does with long sources: clips, segments, billed and dropped seconds."""
    clips = segments = 0
    billed = 0.0
    described: list[str] = []
    for planned in plan.jobs:
        if planned.clip is None:
            continue
        clips += 1
        segments += len(planned.segments)
        billed += sum(job.source_seconds or 0.0 for job in planned.segments)
        if len(described) < CLIP_LINES:
            described.append(_clip_line(planned))
    if not clips:
        return []
    more = [f"  ... and {clips - len(described)} more clip(s)"] if clips > len(described) else []
    return [f"{clips} clip(s) cut into {segments} segments: {segments} paid runs, "
            f"{billed:.1f} s billed (each segment is one paid job)", *described, *more]  # fmt: skip


def _clip_line(planned: PlannedJob) -> str:
    clip = planned.clip
    assert clip is not None
    line = (f"  {clip.item}: {clip.source_seconds:.1f} s -> {len(planned.segments)} segments, "
            f"continuity {clip.continuity}, output size {clip.output_size}")  # fmt: skip
    if clip.request.aspect_ratio:
        line += f", sent as {clip.request.aspect_ratio}"
    line += f", stored as {clip.output_name or clip.item}.mp4"
    handling = clip.seam_handling
    if len(planned.segments) > 1:
        colour = ", colour-matched" if handling.colour_match else ""
        line += f"; seams: {handling.overlap_frames} frames crossfaded (billed){colour}"
    if clip.timecode is not None:
        line += f"; edits {clip.edit_seconds:.2f} s from {clip.timecode}"
    elif clip.dropped_seconds > 0.05:
        line += f"; the last {clip.dropped_seconds:.1f} s are dropped (--max-seconds)"
    if planned.normalised:
        line += f"; normalised: {', '.join(planned.normalised)}"
    return line


def print_result(result: EnqueueResult) -> None:
    """What was queued, what already existed, what was skipped."""
    console.print(
        f"batch {shown(result.batch)}: {result.created} job(s) queued, "
        f"{result.existing} already there ({result.redispatched} re-sent), "
        f"{result.skipped_count} row(s) skipped"
        + (f", {result.clips} clip(s) sent to be cut" if result.clips else "")
    )
    console.print(f"follow it with: restyle status {shown(result.batch)} --watch")
