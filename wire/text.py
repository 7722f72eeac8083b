"""Text from outside (a provider's message, a file name, a manifest header) made safe to show.

Such text may carry terminal control sequences: OSC 52 writes the user's clipboard, ``ESC[2J``
clears the screen, a lone ``ESC`` or ``CR`` hides what came before, bidi overrides reorder what
is read. `visible` shows every control and format character as its escape (``\\x1b``,
``\\u202e``) instead, so the text is printed as written and nothing is executed. Pure.
"""

from __future__ import annotations

import re

_INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with each C0/C1 control, DEL, bidi and zero-width character shown as its
    escape (tabs and line breaks too: one value stays on one line)."""
    return _INVISIBLE.sub(_escape, text)
