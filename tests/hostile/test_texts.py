"""Outside text: terminal codes shown as written, rich markup escaped, keys quoted in part
redacted."""

from __future__ import annotations

import io

from rich.console import Console

from cli.common import shown
from config.redaction import MIN_FRAGMENT, Redactor, key_label
from wire.text import visible

KEY = "key_0123456789abcdef0123456789abcdef01234567"
SEGMIND = "SG_fedcba9876543210"


def test_control_and_format_characters_are_shown_as_escapes() -> None:
    hostile = "clip\x1b]52;c;Y3VybCBldmls\x07\x1b[2J\r\u202egpm.exe\x9b31m\tend\n"
    assert visible(hostile) == (
        "clip\\x1b]52;c;Y3VybCBldmls\\x07\\x1b[2J\\x0d\\u202egpm.exe\\x9b31m\\x09end\\x0a"
    )
    assert visible("plain text, ünïcödé and 日本語") == "plain text, ünïcödé and 日本語"


def test_the_console_prints_outside_text_as_written() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, color_system=None, width=200)
    text = "failed [/x] [bold]loud[/] \x1b]52;c;SGVsbG8=\x07 \x1b[2J"
    console.print(f"failure {shown(text)}", highlight=False)  # raised MarkupError unescaped
    printed = out.getvalue()
    assert "\x1b" not in printed and "\x07" not in printed
    assert "[/x] [bold]loud[/]" in printed and "\\x1b]52;c;SGVsbG8=\\x07" in printed


def test_any_run_of_eight_or_more_characters_of_a_key_is_redacted_anywhere() -> None:
    scrub = Redactor([(KEY, key_label(KEY)), (SEGMIND, key_label(SEGMIND))])
    middle = KEY[7:27]  # 20 of its characters, both ends cut
    assert scrub(f"invalid credential '{middle}' for this route") == (
        f"invalid credential '{key_label(KEY)}' for this route"
    )
    assert scrub(f"see ...{KEY[-MIN_FRAGMENT:]}") == f"see ...{key_label(KEY)}"
    assert scrub(f"clipped: {KEY[:30]}...") == f"clipped: {key_label(KEY)}..."
    assert scrub(f"two: {SEGMIND[3:14]} and {KEY[10:19]}!") == (
        f"two: {key_label(SEGMIND)} and {key_label(KEY)}!"
    )
    # Seven characters are left: too likely to be ordinary text.
    short = KEY[5 : 5 + MIN_FRAGMENT - 1]
    assert scrub(f"code {short} ok") == f"code {short} ok"
