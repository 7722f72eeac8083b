"""What a worker, beat or Flower checks before it starts: settings, and Redis's answer.

A wrong setting, a refused password or an unverifiable certificate never fixes itself, so the
process stops at once with one line naming the cause (exit 2) instead of retrying forever
behind a generic "cannot connect" (where beat also stopped heeding SIGTERM). An unreachable
Redis is announced in one line and waited for: outliving an outage is the workers' job.
"""

from __future__ import annotations

import sys
from typing import NoReturn, TextIO

from config.redis import PERMANENT, RedisUnavailable, probe
from config.settings import Settings, SettingsError, load_settings

EXIT_CONFIG = 2


def checked_settings(err: TextIO = sys.stderr) -> Settings:
    """The environment's settings, once Redis has not refused them; else exit 2 in one line."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        _stop(f"configuration error: {exc}", err)
    try:
        probe(settings)
    except RedisUnavailable as exc:
        if exc.cause in PERMANENT:
            _stop(str(exc), err)
        print(f"restyle: {exc}; waiting for it", file=err, flush=True)
    return settings


def _stop(message: str, err: TextIO) -> NoReturn:
    print(f"restyle: {message}", file=err, flush=True)
    raise SystemExit(EXIT_CONFIG)
