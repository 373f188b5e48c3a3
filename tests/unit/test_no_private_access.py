"""No test reaches into an object's private attributes: tests use what a user can use (and the
seams made for tests, such as ``EventSocket(socketio_client=...)``), so a re-lay of the
internals does not break them."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ATTRIBUTE_CALLS = {"getattr", "setattr", "hasattr", "delattr"}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_accesses(source: str) -> list[tuple[int, str]]:
    """``(line, expression)`` of each private attribute read, written or named in
    ``getattr``/``setattr``/``hasattr``/``delattr``/``monkeypatch.setattr``, except on
    ``self`` and ``cls`` (an object's own code)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                found.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.Call):
            function = node.func
            name = function.attr if isinstance(function, ast.Attribute) else None
            name = function.id if isinstance(function, ast.Name) else name
            if name not in ATTRIBUTE_CALLS:
                continue
            names = [a.value for a in node.args[:2] if isinstance(a, ast.Constant)]
            if any(isinstance(n, str) and _private(n.rsplit(".", 1)[-1]) for n in names):
                found.append((node.lineno, ast.unparse(node)))
    return sorted(found)


def test_the_walk_finds_private_reads_writes_and_named_attributes() -> None:
    source = (
        "socket._on_event('x')\n"
        "client._http._transport = t\n"
        "getattr(subscription, '_buffer')\n"
        "monkeypatch.setattr(socket, '_sio', fake)\n"
        "monkeypatch.setattr('ivkgen.runtime._events.socket._CLOSED', None)\n"
        "self._own, cls._own, obj.__dict__, obj.public, getattr(obj, 'name')\n"
    )
    assert [line for line, _ in private_accesses(source)] == [1, 2, 2, 3, 4, 5]


def test_no_test_touches_a_private_attribute() -> None:
    found = [
        f"{path.relative_to(TESTS.parent)}:{line}: {expression}"
        for path in sorted(TESTS.rglob("*.py"))
        for line, expression in private_accesses(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "tests reach into private attributes:\n" + "\n".join(found)
