"""Kubernetes probes for the roles that serve no HTTP: ``python -m workers.probe beat``.

Beat is alive while it keeps sending ``restyle.reclaim`` (every ``liveness_sweep_s``), read from
its RedBeat entry in Redis; exit status 0 alive, 1 not (with one line saying why).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from config.settings import load_settings
from tasks.schedule_entries import RECLAIM_ENTRY, last_sent

BEAT_SLACK_S = 60.0
"""Beat sleeps up to ``beat_max_loop_interval`` (10 s) between ticks and may be slowed by a Redis
failover (30 s of retries): silence shorter than this is not a dead beat."""


def beat_alive(last: datetime | None, now: datetime, every_s: float) -> bool:
    """Beat sent its most frequent entry recently enough (``every_s``: that entry's period)."""
    return last is not None and (now - last).total_seconds() <= every_s + BEAT_SLACK_S


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args != ["beat"]:
        print("usage: python -m workers.probe beat", file=sys.stderr)
        return 2
    from workers.factory import create_app

    settings = load_settings()
    last = last_sent(create_app(settings), RECLAIM_ENTRY)
    if beat_alive(last, datetime.now(UTC), settings.liveness_sweep_s):
        return 0
    print(f"beat: {RECLAIM_ENTRY} last sent at {last}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
