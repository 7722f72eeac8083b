"""A Celery app with one task that does nothing, configured exactly like restyle's app.

The baseline of bench.overhead: ``celery -A bench.noop_app worker -Q batch`` on the same Redis,
with the same acks, prefetch and visibility settings as ``workers.app``.
"""

from __future__ import annotations

from celery import Celery

from config.settings import load_settings
from workers.celery_config import celery_config

NOOP_TASK = "bench.noop"
NOOP_QUEUE = "batch"

app = Celery("bench-noop")
app.conf.update(celery_config(load_settings()))


@app.task(name=NOOP_TASK)  # type: ignore[untyped-decorator]
def noop() -> None:
    """Nothing: what is left is Celery's own cost per task."""
