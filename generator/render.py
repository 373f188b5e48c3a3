"""Shared rendering: jinja2 templates, in-process black, a syntax check and atomic writes."""

from __future__ import annotations

import ast
import contextlib
import functools
import os
import re
import shlex
import stat
import sys
import tempfile
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import black
import jinja2
from black.mode import Mode, TargetVersion
from ivkgen.generator import GeneratorError

LINE_LENGTH = 100
BLACK_MODE = Mode(line_length=LINE_LENGTH, target_versions={TargetVersion.PY311})


def templates_dir() -> Path:
    """The ``templates`` folder beside the generator (``ivkgen/templates`` when installed)."""
    folder = Path(__file__).resolve().parent.parent / "templates"
    if not folder.is_dir():
        raise GeneratorError(f"no templates folder at {folder}")
    return folder


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
    env.filters["pyrepr"] = ascii
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


STRING_CHUNK = 60


def literal(value: Any) -> str:
    """``ascii(value)`` for JSON-like values: non-ASCII characters as escapes (so no lookalike
    character reaches the code), and strings longer than :data:`STRING_CHUNK` as parenthesised
    implicit concatenations of shorter pieces, so that black keeps every line within the length."""
    if isinstance(value, str) and len(value) > STRING_CHUNK:
        pieces = re.findall(rf".{{1,{STRING_CHUNK}}}(?:\s+|$)|.{{1,{STRING_CHUNK}}}", value, re.S)
        return "(" + " ".join(ascii(piece) for piece in pieces) + ")"
    if isinstance(value, dict):
        items = ", ".join(f"{literal(key)}: {literal(item)}" for key, item in value.items())
        return "{" + items + "}"
    if isinstance(value, list):
        return "[" + ", ".join(literal(item) for item in value) + "]"
    return ascii(value)


@functools.cache  # a workflow repeats its node types, and so their descriptions
def docstring(text: str, indent: int = 4, width: int = LINE_LENGTH) -> str:
    """``text`` as a triple-quoted docstring literal wrapped to ``width`` at ``indent``: every
    run of whitespace becomes one space, backslashes and quotes that could end the literal are
    escaped, and characters that are not printable ASCII become ``\\uXXXX`` escapes (no
    lookalike character reaches the code)."""

    def escape(c: str) -> str:
        if c == "\\":
            return "\\\\"
        if c.isascii() and c.isprintable():
            return c
        return f"\\u{ord(c):04x}" if ord(c) < 0x10000 else f"\\U{ord(c):08x}"

    flat = " ".join(text.split())
    body = "".join(map(escape, flat)).replace('"""', '\\"\\"\\"')
    if body.endswith('"'):
        body = body[:-1] + '\\"'
    lines = textwrap.wrap(
        body, width - indent - 6, break_long_words=False, break_on_hyphens=False
    ) or [""]
    return ("\n" + " " * indent).join([f'"""{lines[0]}', *lines[1:]]) + '"""'


def _shell_word(word: str) -> str:
    """``word`` quoted for a POSIX shell; control characters in bash's ``$'...'`` escapes, so
    that the word never breaks the comment line it is written on."""
    if word.isprintable():
        return shlex.quote(word)
    escaped = "".join(
        c if c.isprintable() and c not in "\\'" else f"\\{c}" if c in "\\'" else f"\\u{ord(c):04x}"
        for c in word
    )
    return f"$'{escaped}'"


def shell_lines(words: list[str], width: int = LINE_LENGTH - 8) -> list[str]:
    """A shell command cut into lines of at most ``width`` (a longer word keeps a line of its
    own), each but the last ending with `` \\``."""
    lines: list[str] = []
    for word in map(_shell_word, words):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(("  " if lines else "") + word)
    return [line + " \\" for line in lines[:-1]] + lines[-1:]


def render_python(template: str, label: str, **context: Any) -> str:
    return format_python(render(template, **context), label)


def write_files(files: Mapping[Path, str]) -> list[Path]:
    """Write every file or none: each goes to a temporary file first and is then renamed in
    place; if a rename fails, the files already replaced get their old content back and the
    folders made for them are removed. A replaced file keeps its mode; a new one gets the mode
    the umask gives."""
    staged: list[tuple[str, Path]] = []
    done: list[tuple[Path, bytes | None]] = []
    made: list[Path] = []
    new_mode = 0o666 & ~_umask()
    try:
        for path, text in files.items():
            made += _make_folder(path.parent)
            mode = stat.S_IMODE(path.stat().st_mode) if path.is_file() else new_mode
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            staged.append((tmp, path))
            os.fchmod(fd, mode)
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
        for tmp, path in staged:
            old = path.read_bytes() if path.is_file() else None
            os.replace(tmp, path)
            done.append((path, old))
    except OSError as exc:
        restore_files(done)
        raise GeneratorError(f"cannot write generated files ({exc})") from None
    finally:
        for tmp, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        for folder in reversed(made if len(done) < len(files) else []):
            with contextlib.suppress(OSError):  # not empty: the interrupted write left files
                folder.rmdir()
    return list(files)


def _umask() -> int:
    """The process's umask (read by setting it and setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _make_folder(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return the ones created, outermost first."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()][::-1]
    folder.mkdir(parents=True, exist_ok=True)
    return missing


def restore_files(done: Sequence[tuple[Path, bytes | None]]) -> None:
    """Give each file its old content back (``None``: remove it), last written first."""
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
    party, relative; names as constants, classes, then the rest."""

    def section(module: str) -> int:
        top = module.split(".")[0]
        if not top:
            return 4
        if top == "__future__":
            return 0
        if top in sys.stdlib_module_names:
            return 1
        return 2  # ivkgen is a third-party package of the user's project

    groups: list[list[tuple[str, list[str]]]] = [[], [], [], [], []]
    for module in sorted(imports):
        groups[section(module)].append((module, sorted(imports[module], key=name_order)))
    return [group for group in groups if group]
