"""The import graph of restyle's packages: the README's layers, no cycles, and Celery only
where it belongs.

Read from the source with `ast`, so an import inside a function counts as much as one at the top
of a module: both make the importing module depend on the imported one. Imports guarded by
``if TYPE_CHECKING:`` are left out; they never run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "bench", "cli", "config", "devstack", "emulator", "jobs", "media", "pipeline", "producer",
    "providers", "storage", "tasks", "web", "wire", "workers",
)  # fmt: skip
# README, "Dependencies point one way": `wire` and `config` at the bottom; `storage` and `media`
# on them; `jobs` on storage's object record; `providers` on the job's vocabulary; `pipeline`
# and `producer` on those; `tasks`, `workers`, `web` and `cli` on top. A package imports only
# its own layer and those below (cycles within a layer are refused further down).
LAYERS = (
    ("wire", "config"),
    ("storage", "media"),
    ("jobs",),
    ("providers",),
    ("pipeline", "producer"),
    ("tasks", "workers", "web", "cli"),
)
TOOLS = ("bench", "devstack", "emulator")
"""Outside the layers: the benches, the dev stack and the emulator serve tests and the CLI's
demo; only the top layer may use them."""
# The domain and its decisions must run, and be tested, without a task queue: nothing below
# `tasks` reaches Celery.
CELERY_FREE = (
    "providers",
    "jobs",
    "pipeline",
    "producer",
    "storage",
    "media",
    "wire",
    "config.settings",
)
CELERY = ("celery", "kombu", "redbeat", "billiard")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    """Every first-party module, by dotted name."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[str]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        else:
            yield from _imports(node)


def _resolve(name: str) -> str | None:
    """The first-party module an imported name lives in, or None for a third-party one."""
    known = modules()
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


@cache
def graph() -> dict[str, frozenset[str]]:
    """Module -> the first-party modules it imports (and third-party roots, as ``"ext:NAME"``)."""
    edges: dict[str, frozenset[str]] = {}
    for name, path in modules().items():
        targets: set[str] = set()
        for imported in _imports(ast.parse(path.read_text(), str(path))):
            resolved = _resolve(imported)
            if resolved is None:
                targets.add("ext:" + imported.split(".")[0])
            elif resolved != name:
                targets.add(resolved)
        edges[name] = frozenset(targets)
    return edges


def _package(module: str) -> str:
    return module.split(".")[0]


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one node (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def _first_party(edges: dict[str, frozenset[str]]) -> dict[str, set[str]]:
    return {
        name: {t for t in targets if not t.startswith("ext:")} for name, targets in edges.items()
    }


def test_no_module_imports_itself_through_others() -> None:
    assert _cycles(_first_party(graph())) == []


def test_no_package_depends_on_itself_through_others() -> None:
    packages: dict[str, set[str]] = {}
    for name, targets in _first_party(graph()).items():
        packages.setdefault(_package(name), set()).update(
            _package(t) for t in targets if _package(t) != _package(name)
        )
    assert _cycles(packages) == []


def _reaches(start: str, edges: dict[str, frozenset[str]]) -> dict[str, str]:
    """Every module or external root reachable from ``start``, mapped to the module importing it."""
    seen: dict[str, str] = {}
    todo = [start]
    while todo:
        node = todo.pop()
        for target in edges.get(node, ()):
            if target not in seen:
                seen[target] = node
                todo.append(target)
    return seen


def _layer(package: str) -> int | None:
    return next((n for n, layer in enumerate(LAYERS) if package in layer), None)


def test_the_layers_cover_every_package() -> None:
    layered = {package for layer in LAYERS for package in layer}
    assert layered | set(TOOLS) == set(PACKAGES)
    assert not layered & set(TOOLS)


def _upward(edges: dict[str, set[str]]) -> list[str]:
    """Every import of a higher layer (or of a tool, below the top layer)."""
    top = len(LAYERS) - 1
    offenders = []
    for name, targets in sorted(edges.items()):
        own = _layer(_package(name))
        if own is None:
            continue
        for target in sorted(targets):
            theirs = _layer(_package(target))
            if own < top if theirs is None else theirs > own:
                offenders.append(f"{name} -> {target}")
    return offenders


def test_dependencies_point_down_the_readmes_layers() -> None:
    assert _upward(_first_party(graph())) == []


def test_the_layer_check_sees_an_upward_import() -> None:
    # Guards the check itself: the real graph turned around, and a domain module using a tool.
    assert _upward({"pipeline.submitting": {"tasks.steps"}}) == [
        "pipeline.submitting -> tasks.steps"
    ]
    assert _upward({"jobs.ledger": {"devstack.stack"}}) == ["jobs.ledger -> devstack.stack"]
    assert _upward({"cli.demo": {"devstack.stack"}, "tasks.steps": {"pipeline.submitting"}}) == []


def test_celery_is_not_reached_from_the_domain() -> None:
    edges = graph()
    offenders = []
    for name in sorted(edges):
        if not any(name == p or name.startswith(p + ".") for p in CELERY_FREE):
            continue
        reached = _reaches(name, edges)
        offenders += [
            f"{name} reaches {lib} through {reached['ext:' + lib]}"
            for lib in CELERY
            if "ext:" + lib in reached
        ]
    assert offenders == []


def test_the_graph_sees_known_edges() -> None:
    # Guards the reader itself: a graph that saw no imports would pass every test above.
    edges = graph()
    assert "jobs.models" in edges["jobs.ledger"]
    assert "ext:celery" in edges["workers.app"] or "ext:celery" in edges["workers.factory"]
    assert len(edges) > 100
