"""Printing a batch plan (the dry run) and what an enqueue did."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from cli.common import console, errors
from producer.batch import BatchPlan, EnqueueResult
from producer.preflight import PlannedJob


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def print_plan(plan: BatchPlan) -> None:
    """Jobs, cost and wall time per provider; then every problem with its row and field."""
    table = Table("provider", "jobs", "est. cost", "est. wall time", title=f"batch {plan.batch}")
    for share in plan.summary.providers:
        table.add_row(
            share.provider.value, str(share.jobs), f"${share.cost_usd:.2f}", _duration(share.wall_s)
        )
    table.add_row(
        "[bold]total",
        f"[bold]{plan.summary.jobs}",
        f"[bold]${plan.summary.cost_usd:.2f}",
        f"[bold]{_duration(plan.summary.wall_s)}",
    )
    console.print(table)
    console.print(f"outputs: {plan.output_prefix}/{plan.batch}/")
    for line in clip_lines(plan):
        console.print(line, highlight=False)
    if plan.options.budget_usd is not None:
        verdict = "[red]over budget[/]" if plan.over_budget else "within budget"
        console.print(f"budget: ${plan.options.budget_usd:.2f} ({verdict})")
    for warning in plan.warnings:
        errors.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    for problem in plan.problems:
        source = problem.source if problem.source and problem.source != problem.file else ""
        errors.print(f"[red]{escape(source)}[/] {escape(str(problem))}", highlight=False)


def clip_lines(plan: BatchPlan) -> list[str]:
    """What the plan does with long sources: clips, segments, billed and dropped seconds."""
    clips = [planned for planned in plan.jobs if planned.clip]
    if not clips:
        return []
    segments = sum(len(planned.segments) for planned in clips)
    billed = sum(job.source_seconds or 0.0 for planned in clips for job in planned.segments)
    lines = [f"{len(clips)} clip(s) cut into {segments} segments, {billed:.1f} s billed "
             "(each segment is one paid job)"]  # fmt: skip
    for planned in clips:
        lines.append(_clip_line(planned))
    return lines


def _clip_line(planned: PlannedJob) -> str:
    clip = planned.clip
    assert clip is not None
    line = (f"  {clip.item}: {clip.source_seconds:.1f} s -> {len(planned.segments)} segments, "
            f"continuity {clip.continuity}, output size {clip.output_size}")  # fmt: skip
    handling = clip.seam_handling
    if len(planned.segments) > 1:
        colour = ", colour-matched" if handling.colour_match else ""
        line += f"; seams: {handling.overlap_frames} frames crossfaded (billed){colour}"
    if clip.dropped_seconds > 0.05:
        line += f"; the last {clip.dropped_seconds:.1f} s are dropped (--max-seconds)"
    if planned.normalised:
        line += f"; normalised: {', '.join(planned.normalised)}"
    return line


def print_result(result: EnqueueResult) -> None:
    """What was queued, what already existed, what was skipped."""
    console.print(
        f"batch {result.batch}: {len(result.created)} job(s) queued, "
        f"{len(result.existing)} already there ({len(result.redispatched)} re-sent), "
        f"{len(result.skipped)} row(s) skipped"
        + (f", {len(result.clips)} clip(s) sent to be cut" if result.clips else "")
    )
    console.print(f"follow it with: restyle status {result.batch} --watch")
