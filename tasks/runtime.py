"""The `Context` of each app in this process, built after fork from the app's own settings.

`workers.factory.create_app` gives its app a `Runtime`; tasks reach it through the app that
runs them (``context()``: Celery's current app, the one the worker was started with). There is
no module-global context: two apps in one process (tests, a benchmark's producer beside its
workers' settings) keep theirs apart.

A prefork child builds its context as it starts (`Runtime.warm_up`, from
``worker_process_init``), so that the clients' set-up (0.1-0.2 s of CPU, boto3's client most of
it) is done before the process takes its first task rather than during it. Building opens no
connection: redis-py, boto3 and httpx connect at their first call. (With no S3 keys in the
settings or the environment, boto3 looks for credentials as it builds the client, which on a
cloud host may ask the instance metadata endpoint, as it did at the first task before.) The
context is also built on first use wherever nothing warmed it up, and again in a forked
child that inherited its parent's (each process has its own connections).
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from celery import current_app

from config.settings import Settings
from pipeline.context import Context

log = logging.getLogger(__name__)


class Runtime:
    """One app's settings, and the `Context` built from them in the current process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._context: Context | None = None
        self._pid = 0

    def context(self) -> Context:
        """This process's `Context` (built on first use, and anew in a forked child)."""
        if self._context is None or self._pid != os.getpid():
            self._context, self._pid = Context.from_settings(self.settings), os.getpid()
        return self._context

    def reset(self) -> None:
        """Forget the context (tests that change what it is built from)."""
        self._context = None

    def close(self) -> None:
        """Close this process's context's clients and forget it (worker process shutdown)."""
        if self._context is not None and self._pid == os.getpid():
            self._context.close()
        self._context = None

    def warm_up(self) -> bool:
        """Build a fresh context now; False (and a warning) when that fails.

        A failure is left for the first task to meet again (as before there was a warm-up),
        rather than failing the process start, which Celery would only repeat in a loop.
        """
        self.reset()
        started = time.process_time()
        try:
            self.context().adapters.prepare()
        except Exception:
            log.warning(
                "could not prepare the worker's clients; the first task will try again",
                exc_info=True,
            )
            return False
        log.info(
            "worker process clients ready (%.0f ms of CPU)",
            1000 * (time.process_time() - started),
        )
        return True


def runtime_of(app: Any) -> Runtime:
    """The `Runtime` of ``app``; TypeError for an app `create_app` did not build."""
    found = getattr(app, "restyle_runtime", None)
    if not isinstance(found, Runtime):
        raise TypeError(f"{app!r} was not built by workers.factory.create_app")
    return found


def context(app: Any = None) -> Context:
    """The `Context` of ``app`` (Celery's current app by default) in this process."""
    return runtime_of(app if app is not None else current_app).context()
