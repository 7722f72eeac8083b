"""The `restyle` command: one typer app, commands registered from small modules."""

from __future__ import annotations

import typer

from cli import batches, jobs, operations, services, timelines, web

app = typer.Typer(
    name="restyle",
    no_args_is_help=True,
    add_completion=False,
    help="Re-style whole video libraries with Runway Gen-4 Aleph through its hosted APIs.",
)
app.command("submit")(batches.submit)
app.command("status")(batches.status)
app.command("batches")(batches.batches)
app.command("cancel")(batches.cancel)
app.command("retry")(batches.retry)
app.command("report")(batches.report)
app.command("timeline")(timelines.timeline)
app.command("enqueue")(jobs.enqueue)
app.command("job")(jobs.show_job)
app.command("providers")(services.providers)
app.command("limits")(services.limits)
app.command("schedules")(operations.schedules)
app.command("flower")(operations.flower)
app.command("demo")(operations.demo)
app.command("web")(web.web)
app.command(
    "emulator",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)(services.emulator)


def main() -> None:
    """Console-script entry point."""
    app()
