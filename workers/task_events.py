"""Celery task counts under celery-exporter's names, counted from signals in every process.

- ``celery_task_sent_total``: ``after_task_publish``, wherever a message is sent (CLI, web,
  workers, beat);
- ``celery_task_received_total``: ``task_received`` (the worker's main process);
- ``celery_task_started_total``, ``celery_task_succeeded_total``, ``celery_task_failed_total``
  (with ``exception``), ``celery_task_retried_total`` and the ``celery_task_runtime`` histogram:
  the task's own signals, in the process that runs it;
- ``celery_worker_up``: each worker's heartbeat (``heartbeat_sent``), its last time in Redis.

Counting is in memory, added to Redis (`jobs.task_counts`) every `FLUSH_S` by one thread per
process and at exit, so a task costs no Redis round trip of its own. A process killed with
SIGKILL loses at most its last `FLUSH_S` of counts: these are rates for dashboards, not a ledger.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import time
from typing import Any

from celery import current_app
from celery.signals import (
    after_task_publish,
    heartbeat_sent,
    task_failure,
    task_prerun,
    task_received,
    task_retry,
    task_success,
    worker_shutdown,
)

from config.redis import redis_client
from jobs.task_counts import Key, TaskCounts, bucket_of
from tasks.runtime import runtime_of

log = logging.getLogger(__name__)

FLUSH_S = 2.0
RUNTIME = "celery_task_runtime"


class Tally:
    """This process's counts not yet added to Redis."""

    def __init__(self) -> None:
        self.deltas: dict[Key, float] = {}
        self.started: dict[str, float] = {}
        self.lock = threading.Lock()
        self._store: TaskCounts | None = None
        self._pid = 0
        self._stop = threading.Event()

    def add(self, metric: str, labels: tuple[str, ...], value: float = 1.0) -> None:
        with self.lock:
            key = (metric, labels)
            self.deltas[key] = self.deltas.get(key, 0.0) + value
        self._ensure_flusher()

    def runtime(self, labels: tuple[str, ...], seconds: float) -> None:
        with self.lock:
            for key, value in (
                ((f"{RUNTIME}_bucket", (*labels, bucket_of(seconds))), 1.0),
                ((f"{RUNTIME}_sum", labels), seconds),
            ):
                self.deltas[key] = self.deltas.get(key, 0.0) + value

    def store(self) -> TaskCounts | None:
        if self._store is None:
            try:
                self._store = TaskCounts(redis_client(runtime_of(current_app).settings))
            except TypeError:
                return None  # an app not built by create_app: nothing to count into
        return self._store

    def flush(self) -> None:
        with self.lock:
            deltas, self.deltas = self.deltas, {}
        store = self.store()
        if store is None or not deltas:
            return
        try:
            store.add(deltas)
        except Exception:
            log.warning("could not add %d task counts to Redis", len(deltas), exc_info=True)

    def _ensure_flusher(self) -> None:
        if self._pid == os.getpid():
            return
        # First count in this process (or in a forked child, whose parent's thread is gone).
        self._pid, self._store = os.getpid(), None
        with self.lock:
            self.deltas.clear()  # the parent's, counted by the parent
        self._stop = threading.Event()
        threading.Thread(target=self._loop, args=(self._stop,), name="task-counts",
                         daemon=True).start()  # fmt: skip
        atexit.register(self.close)

    def close(self) -> None:
        """Stop the flusher and write what is left (at exit and at worker shutdown)."""
        self._stop.set()
        self.flush()

    def _loop(self, stop: threading.Event) -> None:
        # A timed wait, not a sleep: shutdown ends the loop at once instead of mid-interval.
        while not stop.wait(FLUSH_S):
            self.flush()


TALLY = Tally()


def connect_task_events() -> None:
    """Connect the handlers below (idempotent)."""
    handlers = {
        after_task_publish: _sent,
        task_received: _received,
        task_prerun: _started,
        task_success: _succeeded,
        task_failure: _failed,
        task_retry: _retried,
        heartbeat_sent: _heartbeat,
        worker_shutdown: _shutdown,
    }
    for signal, handler in handlers.items():
        signal.connect(handler, weak=False, dispatch_uid=f"restyle.counts.{handler.__name__}")


def _host() -> str:
    return socket.gethostname()


def _labels(task: Any) -> tuple[str, str, str]:
    request = getattr(task, "request", None)
    info = getattr(request, "delivery_info", None) or {}
    queue = str(info.get("routing_key") or "celery")
    hostname = str(getattr(request, "hostname", None) or _host())
    return str(getattr(task, "name", "unknown")), hostname, queue


def _sent(sender: Any = None, headers: Any = None, routing_key: Any = None, **_: Any) -> None:
    name = (headers or {}).get("task") or str(sender)
    TALLY.add("celery_task_sent_total", (name, _host(), str(routing_key or "celery")))


def _received(request: Any = None, **_: Any) -> None:
    if request is None:
        return
    info = getattr(request, "delivery_info", None) or {}
    queue = str(info.get("routing_key") or "celery")
    TALLY.add("celery_task_received_total", (request.name, str(request.hostname), queue))


def _started(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if task_id is not None:
        TALLY.started[task_id] = time.monotonic()
    TALLY.add("celery_task_started_total", _labels(task))


def _succeeded(sender: Any = None, **_: Any) -> None:
    labels = _labels(sender)
    TALLY.add("celery_task_succeeded_total", labels)
    task_id = getattr(getattr(sender, "request", None), "id", None)
    began = TALLY.started.pop(task_id, None) if task_id else None
    if began is not None:
        TALLY.runtime(labels, time.monotonic() - began)


def _failed(
    sender: Any = None, task_id: str | None = None, exception: Any = None, **_: Any
) -> None:
    name, hostname, queue = _labels(sender)
    TALLY.add("celery_task_failed_total", (name, hostname, type(exception).__name__, queue))
    if task_id is not None:
        TALLY.started.pop(task_id, None)


def _retried(sender: Any = None, request: Any = None, **_: Any) -> None:
    TALLY.add("celery_task_retried_total", _labels(sender))
    task_id = getattr(request, "id", None)
    if task_id is not None:
        TALLY.started.pop(task_id, None)


def _heartbeat(sender: Any = None, **_: Any) -> None:
    store = TALLY.store()
    hostname = getattr(getattr(sender, "eventer", None), "hostname", None) or _host()
    if store is not None:
        try:
            store.heartbeat(str(hostname), time.time())
        except Exception:
            log.debug("could not record the worker heartbeat", exc_info=True)


def _shutdown(sender: Any = None, **_: Any) -> None:
    TALLY.close()
    store = TALLY.store()
    hostname = getattr(sender, "hostname", None)
    if store is not None and hostname:
        try:
            store.gone(str(hostname))
        except Exception:
            log.debug("could not forget the worker's heartbeat", exc_info=True)
