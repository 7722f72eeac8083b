"""Loading the Lua scripts that sit next to these modules."""

from __future__ import annotations

from pathlib import Path

import redis
from redis.commands.core import Script

HERE = Path(__file__).resolve().parent


def lua_source(*names: str) -> str:
    """The text of ``jobs/<name>.lua`` for each name, joined (a shared prelude comes first)."""
    return "\n".join((HERE / f"{name}.lua").read_text(encoding="utf-8") for name in names)


def load_script(client: redis.Redis[bytes], *names: str) -> Script:
    """Register the joined scripts with ``client``; calls go by EVALSHA, loading on demand."""
    return client.register_script(lua_source(*names))
