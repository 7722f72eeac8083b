"""The example secrets of ``.env.example``: a process refuses to start with one of them.

``.env.example`` ships ``change-me-...`` values so that a copy of it runs; a copy that reaches a
network must not run with a password everyone can read in the repository. Pure.
"""

from __future__ import annotations

PLACEHOLDER_PREFIX = "change-me"


def is_placeholder(secret: str) -> bool:
    """True for an example value of ``.env.example`` (``change-me-web-password`` ...)."""
    return secret.strip().lower().startswith(PLACEHOLDER_PREFIX)


def placeholder_message(variable: str) -> str:
    """The one line that says which variable still holds an example value."""
    return (
        f"{variable} still holds the example value from .env.example ({PLACEHOLDER_PREFIX}-...): "
        "set a password of your own"
    )
