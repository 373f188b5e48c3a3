"""The runtime's import graph: every module imports in a fresh interpreter, no import cycle (not
even one that a deferred import hides), and no runtime module reaches for the generator or the
command line."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import REPO

RUNTIME = REPO / "runtime"
PACKAGE = "ivkgen.runtime"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(RUNTIME).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([PACKAGE, *parts])


MODULES = {module_name(path): path for path in sorted(RUNTIME.rglob("*.py"))}


def imported_names(tree: ast.AST) -> Iterator[str]:
    """Every module name an import statement names (``from a import b``: ``a`` and ``a.b``),
    at module level or inside a function, but not under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from imported_names(ast.Module(body=node.orelse, type_ignores=[]))
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        yield from imported_names(node)


def runtime_imports(path: Path) -> set[str]:
    """The runtime modules that importing ``path`` (or calling its functions) imports: each named
    module and the packages above it, except the packages ``path`` itself lives in (those are
    initialised before it)."""
    own = module_name(path)
    above = {own.rsplit(".", depth)[0] for depth in range(1, own.count(".") + 1)}
    found: set[str] = set()
    for name in imported_names(ast.parse(path.read_text(encoding="utf-8"))):
        parts = name.split(".")
        found.update(
            prefix
            for prefix in (".".join(parts[:i]) for i in range(2, len(parts) + 1))
            if prefix in MODULES
        )
    return found - above - {own}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` (its modules in import order, the first repeated last), or None."""
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        path.append(module)
        for target in sorted(graph[module]):
            if target in path:
                return [*path[path.index(target) :], target]
            if target not in done and (cycle := visit(target)):
                return cycle
        path.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        if module not in done and (cycle := visit(module)):
            return cycle
    return None


def test_the_runtime_import_graph_has_no_cycle() -> None:
    graph = {module: runtime_imports(path) for module, path in MODULES.items()}
    assert graph["ivkgen.runtime._workflow.workflow_form"] >= {"ivkgen.runtime._jobs.submission"}
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def test_a_cycle_is_found_and_shown_in_import_order() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"b"}, "d": set()}
    assert find_cycle(graph) == ["b", "c", "b"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_runtime_module_imports_the_generator_or_the_command_line() -> None:
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = [
            alias.name if isinstance(node, ast.Import) else str(node.module)
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        ]
        assert not [n for n in names if n.startswith(("ivkgen.generator", "ivkgen.cli"))], module


def test_every_runtime_module_imports_in_a_fresh_interpreter() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {sorted(MODULES)!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.startswith(('ivkgen.generator', 'ivkgen.cli', "
        "'jinja2', 'black', 'datamodel_code_generator'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


ARCHITECTURE = REPO / "docs" / "architecture.md"


def documented_rows() -> list[list[str]]:
    """The rows of the import diagram in ``docs/architecture.md``, top row first."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = text.split("## Import direction", 1)[1]
    diagram = section.split("```text\n", 1)[1].split("```", 1)[0]
    rows: list[list[str]] = [[]]
    for line in diagram.splitlines():
        if line.strip() == "▼":
            rows.append([])
        else:
            rows[-1].extend(f"{PACKAGE}.{name}" for name in line.split())
    return rows


def test_the_documented_import_diagram_is_the_code_s() -> None:
    rows = documented_rows()
    row_of = {module: index for index, row in enumerate(rows) for module in row}
    packages = {m for m, path in MODULES.items() if path.name == "__init__.py"}
    assert sorted(row_of) == sorted(
        set(MODULES) - packages
    ), "docs/architecture.md: list every runtime module once in the import diagram"
    lazy = f"{PACKAGE}._lazy"
    for package in packages:
        assert runtime_imports(MODULES[package]) <= {lazy}, package
    for module, row in row_of.items():
        for target in runtime_imports(MODULES[module]) - packages:
            assert row_of[target] > row, (
                f"{module} imports {target}: move {target} below {module} in the import diagram "
                "of docs/architecture.md (or the import out of the module)"
            )
