"""After the provider boundary, decisions go by exception class, never by a status code or by
the wording of a message.

The boundary (providers/ and wire/, storage/ for source downloads) turns an HTTP answer into a
class of `providers.errors` (or `storage.errors`); pipeline/ decides by that class. Read from
the source with `ast`: a status code compared or looked up, or a reason or message tested by
its prefix or contents, anywhere in pipeline/ fails this test.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AFTER_THE_BOUNDARY = ("pipeline",)
STATUS_ATTRIBUTES = frozenset({"status_code", "status"})
WORDED = frozenset({"reason", "message", "detail", "failure_message"})
STRING_TESTS = frozenset({"startswith", "endswith", "partition", "rpartition", "split", "find"})


def _is_status_code(node: ast.expr) -> bool:
    """An int literal in the HTTP status range, or a collection of them."""
    if isinstance(node, ast.Constant):
        return type(node.value) is int and 100 <= node.value <= 599
    if isinstance(node, ast.Set | ast.Tuple | ast.List):
        return any(_is_status_code(item) for item in node.elts)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id in ("frozenset", "set") and any(map(_is_status_code, node.args))
    return False


def _worded(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr in WORDED


def offences(source: str, where: str) -> list[str]:
    """Every status-code reading and message-prefix test in ``source``."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source, where)):
        line = f"{where}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Attribute) and node.attr in STATUS_ATTRIBUTES:
            found.append(f"{line}: reads .{node.attr}")
        elif isinstance(node, ast.Compare) and any(
            map(_is_status_code, [node.left, *node.comparators])
        ):
            found.append(f"{line}: compares a status code")
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            if _is_status_code(node.value) and not isinstance(node.value, ast.Constant):
                found.append(f"{line}: a table of status codes")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in STRING_TESTS
            and _worded(node.func.value)
        ):
            found.append(f"{line}: tests a message's wording with .{node.func.attr}()")
        elif (
            isinstance(node, ast.Compare)
            and isinstance(node.left, ast.Constant)
            and isinstance(node.left.value, str)
            and any(isinstance(op, ast.In | ast.NotIn) for op in node.ops)
            and any(map(_worded, node.comparators))
        ):
            found.append(f"{line}: looks for words in a message")
    return found


def test_nothing_after_the_boundary_reads_a_status_code_or_a_message() -> None:
    found = [
        offence
        for package in AFTER_THE_BOUNDARY
        for path in sorted((ROOT / package).rglob("*.py"))
        for offence in offences(path.read_text(), str(path.relative_to(ROOT)))
    ]
    assert found == []


def test_the_reader_sees_what_the_old_code_did() -> None:
    # Guards the reader itself: each of these was once in pipeline/ (routing, breaker outcomes).
    old = """
REFUSED_STATUSES = frozenset({401, 402, 429, 503})
def clean(exc):
    return exc.status_code in REFUSED_STATUSES
def maintenance(exc):
    return exc.status_code == 455 or (exc.status_code == 503 and exc.retry_after is not None)
def sooner(decision):
    return decision.reason.startswith("limiter:")
def cause(circuit):
    return circuit.reason.partition(":")[0]
def moderated(exc):
    return "SAFETY" in exc.message
"""
    found = offences(old, "old.py")
    assert any("table of status codes" in item for item in found)
    assert any("compares a status code" in item for item in found)
    assert sum("reads .status_code" in item for item in found) == 3
    assert any(".startswith()" in item for item in found)
    assert any(".partition()" in item for item in found)
    assert any("looks for words" in item for item in found)
