"""The worker process's one `Context`, built lazily after fork from the environment's settings."""

from __future__ import annotations

from config.settings import load_settings
from pipeline.context import Context

_context: Context | None = None


def context() -> Context:
    """This process's `Context` (built on first use, so each forked child makes its own)."""
    global _context
    if _context is None:
        _context = Context.from_settings(load_settings())
    return _context


def reset_context() -> None:
    """Forget the context (after fork, or in tests that change settings)."""
    global _context
    _context = None
