"""Shared helpers of the operations tests."""

from __future__ import annotations

import os
from pathlib import Path

from devstack.process import base_env

OPS_DIR = Path(__file__).resolve().parent
REPO = OPS_DIR.parents[1]
FLOWER_USER, FLOWER_PASSWORD = "ops", "flower-pw-8c1d2e"


def ops_env(**extra: str) -> dict[str, str]:
    """This environment without RESTYLE_*/FLOWER_* settings, with ops_app importable."""
    env = {
        name: value
        for name, value in base_env().items()
        if not name.startswith(("RESTYLE_", "FLOWER_"))
    }
    env.update({"PYTHONPATH": os.pathsep.join([str(OPS_DIR), str(REPO)]), **extra})
    return env
