"""Worker-side signal handlers that keep the ledger aware of the messages a worker holds."""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import task_received

from pipeline.context import utcnow
from pipeline.watching import watch_received_submit
from tasks.runtime import context

log = logging.getLogger(__name__)


def connect_worker_signals() -> None:
    """Connect the handlers below (idempotent)."""
    task_received.connect(_watch_submit, weak=False, dispatch_uid="restyle.watch_submit")


def _watch_submit(request: Any = None, **_: Any) -> None:
    if request is None or request.name != "restyle.submit" or not request.args:
        return
    try:
        watch_received_submit(context(), str(request.args[0]), request.eta, utcnow())
    except Exception:
        # A missed watch only delays recovery from a crash; never refuse the message for it.
        log.exception("could not watch received submit %s", request.args[0])
