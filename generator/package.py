"""The output folder of ``ivkgen gen`` as a typed package of the user's project.

The folder gets an ``__init__.py`` (when it has none) and a ``py.typed`` marker, so that the
modules import as ``<folder>.<module>`` and type checkers read their annotations, and the fields
package of the schema the modules were generated against (``fields_<version>/``), which they
import relatively. Folders for two InvokeAI versions each hold their own fields package.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ivkgen.generator import GeneratorError
from ivkgen.generator.module import LibraryOrigin, WorkflowModule, render_module
from ivkgen.generator.openapi import Spec
from ivkgen.generator.render import shell_lines, write_files
from ivkgen.runtime._workflow.catalog import (
    CATALOG_FILE,
    Catalog,
    default_catalog,
    fields_package_name,
)

PACKAGE_INIT = '"""Typed modules of InvokeAI workflows, written by ``ivkgen gen``."""\n'


@dataclass(frozen=True)
class FieldsPackage:
    """The fields package in an output folder, and the outermost folder this run created for
    it (``None`` when it was there already)."""

    path: Path
    created: Path | None

    def catalog(self) -> Catalog:
        return Catalog.from_dir(self.path)

    def discard(self) -> None:
        """Remove the package again when this run created it and then failed."""
        if self.created is not None:
            shutil.rmtree(self.created, ignore_errors=True)


def package_files(out_dir: Path) -> dict[Path, str]:
    """The files that make ``out_dir`` a typed package and that it lacks."""
    files = {out_dir / "__init__.py": PACKAGE_INIT, out_dir / "py.typed": ""}
    return {path: text for path, text in files.items() if not path.exists()}


def _schema_sha256(package: Path) -> str | None:
    try:
        data = json.loads((package / CATALOG_FILE).read_text(encoding="utf-8"))
        return str(data["openapi_sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def ensure_fields(out_dir: Path, spec: Spec | None, *, replace: bool = False) -> FieldsPackage:
    """The fields package in ``out_dir`` for ``spec`` (the bundled schema when ``None``),
    written when missing. A package of another schema of the same version is an error, unless
    ``replace`` (``ivkgen regen`` with a schema) writes it again from ``spec``."""
    from ivkgen.generator.fields import generate_fields

    bundled = default_catalog()
    version = spec.invokeai_version if spec else bundled.invokeai_version
    sha256 = spec.sha256 if spec else bundled.openapi_sha256
    package = out_dir / fields_package_name(version)
    found = _schema_sha256(package)
    if found == sha256 and not replace:
        return FieldsPackage(package, created=None)
    if found not in (None, sha256) and not replace:
        raise GeneratorError(
            f"{package} holds the field classes of another InvokeAI {version} schema "
            f"(sha256 {found[:12]}, this one is {sha256[:12]}); generate into another folder, "
            f"or refresh the folder with `ivkgen regen {out_dir} --openapi FILE`"
        )
    created = next((p for p in [*reversed(package.parents), package] if not p.exists()), None)
    if spec is None:
        _copy_bundled(package)
    else:
        from ivkgen.generator.fields import generate_fields  # datamodel-code-generator: slow

        generate_fields(spec, out_dir)
    return FieldsPackage(package, created)


def _copy_bundled(package: Path) -> None:
    """Copy the bundled schema's fields package (``ivkgen.bundled``) to ``package``."""
    source = Path(default_catalog().fields_module.__file__ or "").parent
    if source.resolve() == package.resolve():
        return
    files = {
        package / path.name: path.read_text(encoding="utf-8")
        for path in sorted(source.iterdir())
        if path.suffix in (".py", ".json")
    }
    write_files(files)


def _as_typed(path: str | Path) -> str:
    """A path as the user would type it again here: relative to the current folder when
    inside it, else as given."""
    given = Path(path)
    if given.is_absolute():
        with contextlib.suppress(ValueError):
            return given.relative_to(Path.cwd()).as_posix()
        return str(given)
    return given.as_posix()


def gen_command(
    workflow: str | Path,
    out_dir: str | Path,
    *,
    openapi: str | Path | None = None,
    server: str | None = None,
) -> list[str]:
    """The ``ivkgen gen`` command that writes the module of ``workflow`` again, as lines."""
    words = ["ivkgen", "gen", _as_typed(workflow), "-o", _as_typed(out_dir)]
    if server:
        words += ["--server", server]
    elif openapi:
        words += ["--openapi", _as_typed(openapi)]
    return shell_lines(words)


def generate_modules(
    sources: Sequence[Path],
    out_dir: Path,
    spec: Spec | None = None,
    commands: Sequence[list[str]] | None = None,
    origins: Sequence[LibraryOrigin | None] | None = None,
) -> list[Path]:
    """Write the modules of ``sources`` into ``out_dir`` with the fields package of ``spec``
    (the bundled schema when ``None``): all of them or, when one fails, none (a fields package
    made for them is removed again). ``commands`` are the headers' commands (default: a plain
    ``ivkgen gen SOURCE -o OUT``); ``origins`` the library entries the sources came from."""
    commands = commands or [gen_command(source, out_dir) for source in sources]
    origins = origins or [None] * len(sources)
    fields = ensure_fields(out_dir, spec)
    try:
        catalog = fields.catalog()
        modules = [
            render_module(source, out_dir, catalog, command, origin)
            for source, command, origin in zip(sources, commands, origins, strict=True)
        ]
        _refuse_clashes(modules, sources)
        write_files(
            {**package_files(out_dir), **{p: t for m in modules for p, t in m.files().items()}}
        )
    except BaseException:
        fields.discard()
        raise
    return [module.path for module in modules]


def _refuse_clashes(modules: Sequence[WorkflowModule], sources: Sequence[Path]) -> None:
    """Two workflows that map to one module name overwrite nothing."""
    seen: dict[Path, Path] = {}
    for module, source in zip(modules, sources, strict=True):
        if module.path in seen:
            raise GeneratorError(
                f"{seen[module.path]} and {source} both map to {module.path}; "
                "rename one of the files or generate them into different folders"
            )
        seen[module.path] = source
