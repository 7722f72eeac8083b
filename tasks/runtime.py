"""The worker process's one `Context`, built after fork from the environment's settings.

A prefork child builds it as it starts (`warm_up`, from ``worker_process_init``), so that the
clients' set-up (0.1-0.2 s of CPU, boto3's client most of it) is done before the process takes
its first task rather than during it. Building opens no connection: redis-py, boto3 and httpx
connect at their first call. (With no S3 keys in the settings or the environment, boto3 looks
for credentials as it builds the client, which on a cloud host may ask the instance metadata
endpoint, as it did at the first task before.) `context` still builds on first use wherever
nothing warmed it up: the worker's main process, tests, a failed warm-up.
"""

from __future__ import annotations

import logging
import time

from config.settings import load_settings
from pipeline.context import Context

log = logging.getLogger(__name__)

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


def close_context() -> None:
    """Close the context's clients and forget it (worker process shutdown)."""
    global _context
    if _context is not None:
        _context.close()
    _context = None


def warm_up() -> bool:
    """Build a fresh context now; False (and a warning) when that fails.

    A failure is left for the first task to meet again (as before there was a warm-up), rather
    than failing the process start, which Celery would only repeat in a loop.
    """
    reset_context()
    started = time.process_time()
    try:
        context().adapters.prepare()
    except Exception:
        log.warning(
            "could not prepare the worker's clients; the first task will try again", exc_info=True
        )
        return False
    log.info(
        "worker process clients ready (%.0f ms of CPU)", 1000 * (time.process_time() - started)
    )
    return True
