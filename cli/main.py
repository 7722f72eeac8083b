"""The `restyle` command: one typer app, commands registered from small modules."""

from __future__ import annotations

import typer

from cli import jobs, services

app = typer.Typer(
    name="restyle",
    no_args_is_help=True,
    add_completion=False,
    help="Re-style whole video libraries with Runway Gen-4 Aleph through its hosted APIs.",
)
app.command("enqueue")(jobs.enqueue)
app.command("job")(jobs.show_job)
app.command("providers")(services.providers)
app.command("limits")(services.limits)
app.command(
    "emulator",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)(services.emulator)


def main() -> None:
    """Console-script entry point."""
    app()
