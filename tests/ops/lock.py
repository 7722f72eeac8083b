"""The runtime dependency closure of restyle, pinned, for the container image.

Regenerate with ``.venv/bin/python tests/ops/lock.py > requirements.lock``.

Walks pyproject's [project] dependencies (no dev extras) through the installed distributions'
metadata, following extras such as ``celery[redis]``, and prints ``name==version`` lines.
"""

from __future__ import annotations

from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

HEADER = """\
# Pinned runtime dependencies of restyle for the container image (Python 3.11, linux).
# The closure of pyproject.toml's [project] dependencies (no dev extras). Regenerate after
# a dependency change, from the project's venv:
#   .venv/bin/python tests/ops/lock.py > requirements.lock
"""
IMAGE_ONLY = {"tzdata": "2026.6"}
"""zoneinfo needs tzdata where the base image has no system time zone database."""


def _requirements(name: str, extras: set[str]) -> list[Requirement]:
    found = []
    for raw in metadata.distribution(name).requires or []:
        requirement = Requirement(raw)
        marker = requirement.marker
        if marker is None or any(marker.evaluate({"extra": e}) for e in extras or {""}):
            found.append(requirement)
    return found


def runtime_closure(root: str = "restyle") -> dict[str, str]:
    """Canonical name -> installed version of everything ``root`` needs at run time."""
    extras_of: dict[str, set[str]] = {}
    todo: list[tuple[str, set[str]]] = [(root, set())]
    while todo:
        name, extras = todo.pop()
        for requirement in _requirements(name, extras):
            key = canonicalize_name(requirement.name)
            wanted = set(requirement.extras)
            if key in extras_of and wanted <= extras_of[key]:
                continue
            extras_of[key] = extras_of.get(key, set()) | wanted
            todo.append((requirement.name, extras_of[key]))
    return {key: metadata.version(key) for key in sorted(extras_of)}


def render() -> str:
    """The lock file's text."""
    pins = {**runtime_closure(), **IMAGE_ONLY}
    return HEADER + "".join(f"{name}=={pins[name]}\n" for name in sorted(pins))


if __name__ == "__main__":
    print(render(), end="")
