"""``ivkgen.runtime`` is the one public surface: the README, the docs and the examples import
nothing deeper, and every name it exports loads (no server)."""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from pathlib import Path

import ivkgen.runtime
import pytest

from tests.conftest import REPO

PUBLIC = "ivkgen.runtime"
GENERATED_EXCERPT = "# excerpt of generated/"
"""A block that shows a generated module as ``ivkgen gen`` writes it (its imports are the
generator's, not a user's)."""


def python_sources() -> Iterator[tuple[str, str]]:
    """(where, code) of every python block of README.md and docs/*.md and every example."""
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for index, block in enumerate(re.findall(r"^```python\n(.*?)^```$", text, re.M | re.S)):
            if not block.startswith(GENERATED_EXCERPT):
                yield f"{page.relative_to(REPO)} python block {index + 1}", block
    for example in sorted((REPO / "examples").glob("*.py")):
        yield str(example.relative_to(REPO)), example.read_text(encoding="utf-8")


def ivkgen_imports(code: str) -> Iterator[tuple[str, list[str]]]:
    """(module, names) of each import of an ``ivkgen`` module in ``code``."""
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "ivkgen":
                    yield alias.name, []
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "ivkgen":
            yield str(node.module), [alias.name for alias in node.names]


SOURCES = list(python_sources())


@pytest.mark.parametrize(("where", "code"), SOURCES, ids=[where for where, _ in SOURCES])
def test_docs_and_examples_import_only_the_public_surface(where: str, code: str) -> None:
    for module, names in ivkgen_imports(code):
        assert module == PUBLIC, f"{where} imports {module}: import from {PUBLIC}"
        missing = sorted(set(names) - set(ivkgen.runtime.__all__))
        assert not missing, f"{where} imports {missing}, which {PUBLIC} does not export"


def test_the_docs_and_examples_are_read() -> None:
    wheres = {where.split(" ")[0] for where, _ in SOURCES}
    assert {"README.md", "docs/several-servers.md", "examples/submit_and_track.py"} <= wheres
    deep = "from ivkgen.runtime._pool import ServerPool\nimport ivkgen.runtime._errors\n"
    assert [m for m, _ in ivkgen_imports(deep)] == [
        "ivkgen.runtime._pool",
        "ivkgen.runtime._errors",
    ]


def test_every_exported_name_loads_from_its_home() -> None:
    for name in ivkgen.runtime.__all__:
        assert getattr(ivkgen.runtime, name) is not None, name
    assert sorted(dir(ivkgen.runtime)) == sorted(set(dir(ivkgen.runtime)))


def test_the_type_checkers_imports_are_the_exports_and_their_homes() -> None:
    """Each export is imported for type checkers (as an explicit re-export) from the module it
    loads from."""
    tree = ast.parse(Path(ivkgen.runtime.__file__).read_text(encoding="utf-8"))
    checked = {
        (alias.asname, str(statement.module), alias.name)
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
        for statement in node.body
        if isinstance(statement, ast.ImportFrom)
        for alias in statement.names
    }
    assert sorted(export for export, _, _ in checked) == list(ivkgen.runtime.__all__)
    for export, module, name in checked:
        assert export == name, f"import {name} as {name} (an explicit re-export)"
        assert getattr(ivkgen.runtime, name) is getattr(importlib.import_module(module), name)


@pytest.mark.parametrize(
    "name",
    [
        "Workflow",
        "WorkflowInputs",
        "WorkflowOutputs",
        "ServerPool",
        "grid_work",
        "VideoSource",
        "InvocationProgressEvent",
        "QueueItemStatusChangedEvent",
        "LedgerError",
        "SchemaDriftWarning",
    ],
)
def test_what_users_need_is_exported(name: str) -> None:
    assert name in ivkgen.runtime.__all__
