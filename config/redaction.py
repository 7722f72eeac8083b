"""The one scrubber of secrets: configured keys and secret-shaped text out of any string.

Used wherever text leaves restyle's hands or comes in from a provider: log records
(`workers.logging`), provider answers before they are stored (`providers.transport`), and job
records before they are shown (``restyle job``, reports). Every configured API key, current
and retired, of every provider becomes ``[key:<key_id>]`` (non-secret, so the reader still
knows which key a provider echoed); the S3 secret and anything shaped like a bearer token, a
Runway or segmind key, a URL password or an S3 signature becomes ``[REDACTED]``, whether or
not it is configured here (a provider may echo a key of another account).

A provider may also quote only part of a key: clipped at the end of its text, or a window of
it in the middle ("...key_0123456789abcdef01234567 is not..." with both ends cut). The rule:
**any run of `MIN_FRAGMENT` (8) or more consecutive characters of a known value**, anywhere in
the text, is replaced by that value's label. Eight characters of a key are 32 bits of it at
most and are rarely all a reader needs; a shorter run is too likely to be ordinary text (a
word, a hex id) and is left. The fragment found is the longest run around each match.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from pydantic import SecretStr

from config.settings import ProviderName, Settings, key_id

REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 4
MIN_FRAGMENT = 8
"""The shortest run of a known value's characters, anywhere in a text, that is replaced."""

_KEEP = r"\1" + REDACTED
SECRET_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"key_[0-9a-fA-F]{16,}", REDACTED),
        (r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}", _KEEP),
        (r"(?i)(x-api-key[\"']?\s*[:=]\s*[\"']?)[^\s\"',;}]+", _KEEP),
        (r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(?!bearer\s)[^\s\"',;}]+", _KEEP),
        (r"\bSG_[0-9a-fA-F]{16}\b", REDACTED),
        (r"\bsk-[A-Za-z0-9_-]{16,}", REDACTED),
        (r"([a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@/\s]+@", _KEEP + "@"),
        (r"(?i)(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s\"']+", _KEEP),
    )
)
"""Secret-shaped text redacted even when the value is not configured here (a foreign key)."""


class Redactor:
    """Replaces known secret values by their labels, then secret-shaped text by a marker."""

    def __init__(self, secrets: Iterable[tuple[str, str]] = ()) -> None:
        usable = [(value, label) for value, label in secrets if len(value) >= MIN_SECRET_LENGTH]
        self._known = sorted(usable, key=lambda pair: len(pair[0]), reverse=True)

    def __call__(self, text: str) -> str:
        for value, label in self._known:
            text = text.replace(value, label)
        text = self._cut_fragments(text)
        for pattern, replacement in SECRET_SHAPES:
            text = pattern.sub(replacement, text)
        return text

    def _cut_fragments(self, text: str) -> str:
        """Replace every run of `MIN_FRAGMENT` or more consecutive characters of a known value
        (a key quoted in part, clipped at either end) by its label."""
        if not self._grams or len(text) < MIN_FRAGMENT:
            return text
        pieces: list[str] = []
        done = position = 0
        while position <= len(text) - MIN_FRAGMENT:
            run = self._longest_run(text, position)
            if run is None:
                position += 1
                continue
            end, label = run
            pieces += [text[done:position], label]
            done = position = end
        return "".join(pieces) + text[done:]

    def _longest_run(self, text: str, position: int) -> tuple[int, str] | None:
        """The end and label of the longest run of a known value starting at ``position``."""
        best: tuple[int, str] | None = None
        for value, offset, label in self._grams.get(text[position : position + MIN_FRAGMENT], ()):
            length = MIN_FRAGMENT
            while (
                offset + length < len(value)
                and position + length < len(text)
                and text[position + length] == value[offset + length]
            ):
                length += 1
            if best is None or position + length > best[0]:
                best = (position + length, label)
        return best

    @functools.cached_property
    def _grams(self) -> dict[str, list[tuple[str, int, str]]]:
        """Every `MIN_FRAGMENT`-long window of a known value: the value, where, its label."""
        grams: dict[str, list[tuple[str, int, str]]] = {}
        for value, label in self._known:
            for offset in range(len(value) - MIN_FRAGMENT + 1):
                grams.setdefault(value[offset : offset + MIN_FRAGMENT], []).append(
                    (value, offset, label)
                )
        return grams

    def with_secrets(self, secrets: Iterable[str]) -> Redactor:
        """A redactor that also knows ``secrets`` (each labelled by its key id)."""
        extra = [(value, key_label(value)) for value in secrets]
        return Redactor([*self._known, *extra])

    @classmethod
    def from_settings(cls, settings: Settings) -> Redactor:
        """A redactor for every API key (current and retired) and the S3 secret."""
        pairs = [(key.get_secret_value(), key_label(key)) for key in configured_keys(settings)]
        if settings.s3_secret_access_key is not None:
            pairs.append((settings.s3_secret_access_key.get_secret_value(), REDACTED))
        return cls(pairs)


def configured_keys(settings: Settings) -> list[SecretStr]:
    """Every API key in ``settings``: each provider's current and retired keys."""
    return [
        key
        for name in ProviderName
        for block in (settings.provider(name),)
        for key in (*block.api_keys, *block.retired_api_keys)
    ]


def key_label(key: str | SecretStr) -> str:
    """``[key:<key_id>]``: what a key is replaced by, naming it without revealing it."""
    return f"[key:{key_id(key if isinstance(key, SecretStr) else SecretStr(key))}]"


def redact(text: str, secrets: Iterable[str | SecretStr] = ()) -> str:
    """``text`` with each of ``secrets`` and anything secret-shaped replaced."""
    values = (s.get_secret_value() if isinstance(s, SecretStr) else s for s in secrets)
    return Redactor((value, REDACTED) for value in values)(text)
