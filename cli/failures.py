"""A dependency that fails a command (Redis, S3, a provider) is one line, not a traceback.

Every command classifies at this one boundary: the error is named with what failed and why
(unreachable, authentication, TLS, refused), on stderr, and the command exits 2. ``--debug``
anywhere on the command line shows the traceback instead.
"""

from __future__ import annotations

import redis

from config.redaction import redact
from config.redis import RedisUnavailable, unavailable
from config.settings import SettingsError, load_settings
from providers.errors import ProviderFailure
from storage.errors import S3Refused, S3Unavailable, StorageError

EXIT_DEPENDENCY = 2
DEBUG_FLAG = "--debug"

DEPENDENCY_ERRORS: tuple[type[BaseException], ...] = (
    RedisUnavailable,
    redis.RedisError,
    StorageError,
    ProviderFailure,
)


def one_line(exc: BaseException) -> str:
    """What failed and why, on one line, without a secret."""
    if isinstance(exc, RedisUnavailable):
        text = str(exc)
    elif isinstance(exc, redis.RedisError):
        text = _redis_line(exc)
    elif isinstance(exc, S3Unavailable):
        text = f"S3 unreachable ({exc})"
    elif isinstance(exc, S3Refused):
        text = f"S3 refused the request ({exc})"
    elif isinstance(exc, ProviderFailure):
        text = f"provider {exc}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return redact(" ".join(text.split()))


def _redis_line(exc: redis.RedisError) -> str:
    try:
        return str(unavailable(load_settings(), exc))
    except SettingsError:
        return f"Redis: {exc}"
