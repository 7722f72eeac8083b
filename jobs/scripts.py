"""Loading the Lua scripts that sit beside the modules of `jobs` (in its subpackages too)."""

from __future__ import annotations

from pathlib import Path

import redis
from redis.commands.core import Script

HERE = Path(__file__).resolve().parent
_LUA = {path.stem: path for path in HERE.rglob("*.lua")}


def lua_source(*names: str) -> str:
    """The text of ``<name>.lua`` under ``jobs/`` for each name, joined (a shared prelude first).

    Script names are unique across the package, so a script moves between subpackages without
    its callers changing.
    """
    return "\n".join(_LUA[name].read_text(encoding="utf-8") for name in names)


def load_script(client: redis.Redis[bytes], *names: str) -> Script:
    """Register the joined scripts with ``client``; calls go by EVALSHA, loading on demand."""
    return client.register_script(lua_source(*names))
