"""The worker's Celery app: ``celery -A workers.app worker`` (and ``beat``, ``flower``).

Built at import from the environment's settings, because that is how Celery's command line
finds an app; everything else builds its own with `workers.factory.create_app`. A setting
or a Redis that refuses the credentials stops it first, in one line (`workers.preflight`).
"""

from __future__ import annotations

from workers.factory import create_app
from workers.preflight import checked_settings

app = create_app(checked_settings())
