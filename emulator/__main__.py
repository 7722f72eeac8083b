"""``python -m emulator --host H --port P [--preset NAME] [...]``: see `emulator.options`."""

from __future__ import annotations

import os
import sys

from emulator.options import parse_options
from emulator.server import serve


def main() -> None:
    """Parse flags and environment, then serve."""
    options = parse_options(sys.argv[1:], os.environ)
    serve(options.host, options.port, options.config)


if __name__ == "__main__":
    main()
