"""``python -m web``: ``restyle web`` without the CLI (the compose service's command)."""

from __future__ import annotations

import sys

from config.settings import SettingsError, load_settings
from web.auth import WebConfigError
from web.server import serve

EXIT_USAGE = 2


def main() -> None:
    """Serve; exit 2 with one line on a configuration error (no credentials, a bad setting)."""
    try:
        serve(load_settings())
    except (SettingsError, WebConfigError) as exc:
        print(f"restyle web: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None


if __name__ == "__main__":
    main()
