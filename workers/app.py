"""The worker's Celery app: ``celery -A workers.app worker`` (and ``beat``, ``flower``).

Built at import from the environment's settings, because that is how Celery's command line
finds an app; everything else builds its own with `workers.factory.create_app`.
"""

from __future__ import annotations

from config.settings import load_settings
from workers.factory import create_app

app = create_app(load_settings())
