"""`restyle submit` shows hostile file names and manifest headers as written, never runs them."""

from __future__ import annotations

from pathlib import Path

import pytest

from media.samples import make_clip
from tests.cli.test_cli import cli_env, restyle

__all__ = ["cli_env"]  # the fixture, used by name
pytestmark = pytest.mark.slow  # a real `restyle submit` subprocess


def test_file_names_and_headers_with_terminal_codes_are_printed_as_escapes(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    make_clip(tmp_path / "a.mp4", seconds=2.5)
    manifest = tmp_path / "library.csv"
    manifest.write_text(
        "source,note\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\na.mp4,fine\ngone\x1b[2J[/x].mp4,missing\n"
    )
    result = restyle(cli_env, "submit", str(manifest), "--prompt", "winter",
                     "--provider", "runway", "--dry-run")  # fmt: skip
    printed = result.stdout + result.stderr
    assert result.returncode == 1, printed  # the missing clip is a problem
    assert "\x1b" not in printed and "\x07" not in printed
    assert "note\\x1b]52;c;cm0gLXJmIH4=\\x07\\x1b[2J" in result.stderr  # the ignored column
    assert "gone\\x1b[2J[/x].mp4" in result.stderr  # the missing file, markup shown as text
