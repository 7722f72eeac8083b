"""The `restyle` command: one typer app, commands registered from small modules."""

from __future__ import annotations

import sys

import typer

from cli import batches, jobs, operations, services, spend, timelines, web
from cli.common import errors
from cli.failures import DEBUG_FLAG, DEPENDENCY_ERRORS, EXIT_DEPENDENCY, one_line

app = typer.Typer(
    name="restyle",
    no_args_is_help=True,
    add_completion=False,
    help=(
        "Re-style whole video libraries with Runway Gen-4 Aleph through its hosted APIs. "
        "Add --debug anywhere to see a failing dependency's traceback."
    ),
)
app.command("submit")(batches.submit)
app.command("status")(batches.status)
app.command("batches")(batches.batches)
app.command("cancel")(batches.cancel)
app.command("retry")(batches.retry)
app.command("report")(batches.report)
app.command("spend")(spend.spend)
app.command("timeline")(timelines.timeline)
app.command("enqueue")(jobs.enqueue)
app.command("job")(jobs.show_job)
app.command("rerun")(jobs.rerun)
app.command("providers")(services.providers)
app.command("limits")(services.limits)
app.command("schedules")(operations.schedules)
app.command("flower")(operations.flower)
app.command("demo")(operations.demo)
app.command("up")(operations.up)
app.command("web")(web.web)
app.command(
    "emulator",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)(services.emulator)


def main() -> None:
    """Console-script entry point: a failing dependency is one line (`cli.failures`) unless
    ``--debug`` is on the command line."""
    debug = DEBUG_FLAG in sys.argv
    if debug:
        sys.argv.remove(DEBUG_FLAG)
    try:
        app()
    except DEPENDENCY_ERRORS as exc:
        if debug:
            raise
        errors.print(f"[red]error:[/] {one_line(exc)}", highlight=False, soft_wrap=True)
        raise SystemExit(EXIT_DEPENDENCY) from None
