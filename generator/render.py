"""Shared rendering: jinja2 templates, in-process black, a syntax check and atomic writes."""

from __future__ import annotations

import ast
import contextlib
import functools
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import black
import jinja2
from black.mode import Mode, TargetVersion

from generator import GeneratorError

LINE_LENGTH = 100
BLACK_MODE = Mode(line_length=LINE_LENGTH, target_versions={TargetVersion.PY311})


def templates_dir() -> Path:
    """The repository's ``templates/`` folder, or the copy packaged inside ``generator``."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "templates", here / "templates"):
        if candidate.is_dir():
            return candidate
    raise GeneratorError(f"no templates folder beside {here}")


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        bytecode_cache=jinja2.FileSystemBytecodeCache(),  # compiled templates, like .pyc files
    )
    env.filters["pyrepr"] = repr
    return env


def render(template: str, **context: Any) -> str:
    """Render ``templates/<template>`` with ``context`` (unknown names are errors)."""
    return environment().get_template(template).render(**context)


def format_python(source: str, label: str) -> str:
    """Black-format ``source`` and check that it parses; ``label`` names it in errors."""
    try:
        formatted = black.format_str(source, mode=BLACK_MODE)
        ast.parse(formatted, filename=label)
    except (black.parsing.InvalidInput, SyntaxError) as exc:
        raise GeneratorError(f"{label}: generated code does not parse ({exc})") from None
    return formatted


def render_python(template: str, label: str, **context: Any) -> str:
    return format_python(render(template, **context), label)


def write_files(files: Mapping[Path, str]) -> list[Path]:
    """Write every file or none: each goes to a temporary file first and is then renamed in
    place; if a rename fails, the files already replaced get their old content back and the
    folders made for them are removed."""
    staged: list[tuple[str, Path]] = []
    done: list[tuple[Path, bytes | None]] = []
    made: list[Path] = []
    try:
        for path, text in files.items():
            made += _make_folder(path.parent)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            staged.append((tmp, path))
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
        for tmp, path in staged:
            old = path.read_bytes() if path.is_file() else None
            os.replace(tmp, path)
            done.append((path, old))
    except OSError as exc:
        _restore(done)
        raise GeneratorError(f"cannot write generated files ({exc})") from None
    finally:
        for tmp, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        for folder in reversed(made if len(done) < len(files) else []):
            with contextlib.suppress(OSError):  # not empty: the interrupted write left files
                folder.rmdir()
    return list(files)


def _make_folder(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return the ones created, outermost first."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()][::-1]
    folder.mkdir(parents=True, exist_ok=True)
    return missing


def _restore(done: list[tuple[Path, bytes | None]]) -> None:
    for path, old in reversed(done):
        if old is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(old)


def _kind(name: str) -> int:
    return 0 if len(name) > 1 and name.isupper() else 1 if name[:1].isupper() else 2


def name_order(name: str) -> tuple[int, str]:
    """isort's order of imported names: constants, classes, others, ignoring case."""
    return _kind(name), name.lower()


def all_order(name: str) -> tuple[int, str]:
    """ruff's order of ``__all__`` (RUF022): constants, classes, others, case first."""
    return _kind(name), name


def import_sections(imports: dict[str, set[str]]) -> list[list[tuple[str, list[str]]]]:
    """``from`` imports grouped and sorted like isort (and ruff): __future__, stdlib, third
    party, first party, relative; names as constants, classes, then the rest."""

    def section(module: str) -> int:
        top = module.split(".")[0]
        if not top:
            return 4
        if top == "__future__":
            return 0
        if top in sys.stdlib_module_names:
            return 1
        return 3 if top in ("runtime", "generated", "generator") else 2

    groups: list[list[tuple[str, list[str]]]] = [[], [], [], [], []]
    for module in sorted(imports):
        groups[section(module)].append((module, sorted(imports[module], key=name_order)))
    return [group for group in groups if group]
