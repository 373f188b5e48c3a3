"""docs/architecture.md lists every module of the runtime, the generator, the command line and the
service (no server)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO

ARCHITECTURE = REPO / "docs" / "architecture.md"
FOLDERS = ("generator", "cli", "service")
"""Folders whose modules are named (without ``.py``) in their row of the "Folders" table."""


def section(title: str) -> str:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def quoted(text: str) -> set[str]:
    return set(re.findall(r"`([^`\n]+)`", text))


def folder_row(folder: str) -> str:
    rows = section("Folders").splitlines()
    return next(row for row in rows if row.startswith(f"| `{folder}/`"))


def runtime_modules() -> list[str]:
    """Each runtime module as its path in the runtime folder; a subpackage's ``__init__.py``
    only loads the names of its modules, which are listed themselves."""
    root = REPO / "runtime"
    paths = [path.relative_to(root).as_posix() for path in sorted(root.rglob("*.py"))]
    return [path for path in paths if path == "__init__.py" or not path.endswith("/__init__.py")]


def folder_modules(folder: str) -> list[Path]:
    paths = sorted((REPO / folder).rglob("*.py"))
    return [path for path in paths if path.name not in ("__init__.py", "__main__.py")]


def test_every_runtime_module_has_a_row() -> None:
    listed = quoted(section("The runtime, by concern"))
    missing = [path for path in runtime_modules() if path not in listed]
    assert not missing, f"docs/architecture.md, 'The runtime, by concern': add {missing}"


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_module_is_named_in_its_folder_s_row(folder: str) -> None:
    listed = quoted(folder_row(folder))
    missing = [
        path.relative_to(REPO).as_posix()
        for path in folder_modules(folder)
        if path.stem not in listed
        or any(
            f"{package}/" not in listed for package in path.relative_to(REPO / folder).parts[:-1]
        )
    ]
    assert not missing, f"docs/architecture.md, the `{folder}/` row: name {missing}"


def test_a_module_missing_from_the_doc_is_found() -> None:
    modules = runtime_modules()
    assert "__init__.py" in modules and any(path.endswith("/handle.py") for path in modules)
    assert not [path for path in modules if path.endswith("/__init__.py")]
    assert "openai/" in quoted(folder_row("service"))
    assert "nowhere_module" not in quoted(folder_row("cli"))
