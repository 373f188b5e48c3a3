"""Emit a ``fields_<version>`` package: the ``Ivk*`` struct classes and the ``catalog.json``.

The struct schemas (:mod:`~ivkgen.generator.field_closure`) become pydantic models
(:mod:`~ivkgen.generator.field_models`), split into small private modules
(:mod:`~ivkgen.generator.field_partition`); ``fields_part.py.j2`` renders each module, an input
struct's model as its ``Ivk<Name>Field`` class with the runtime's mixins and keys, and the
package's ``__init__.py`` (``fields.py.j2``) names every class and loads its module on first use.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ivkgen.generator import GeneratorError, generator_version
from ivkgen.generator.field_closure import (
    MIXINS,
    RESOURCE_MIXIN,
    FieldClass,
    field_classes,
    ref_closure,
)
from ivkgen.generator.field_models import models_source
from ivkgen.generator.field_partition import Definition, FieldsPart, definitions, field_parts
from ivkgen.generator.openapi import Spec, build_catalog, input_structs
from ivkgen.generator.render import all_order, import_sections, render_python, write_files
from ivkgen.runtime._workflow.catalog import (
    CATALOG_FILE,
    NodeSpec,
    catalog_json,
    fields_package_name,
)


@dataclass(frozen=True)
class MergedClass:
    """The model of an input struct made its ``Ivk`` class, as ``fields_part.py.j2`` renders it:
    the runtime's mixins and keys added to the one class (a second class would cost its import
    time), the schema's name kept as an alias of it (other models and users name it so)."""

    name: str
    schema: str
    bases: list[str]
    docstring: str | None
    """The model's docstring lines, as written; ``None`` when it has none."""
    required_keys: tuple[str, ...]
    value_key: str | None
    body: str
    """The model's statements after its docstring, as written."""


def merged_class(definition: Definition, cls: FieldClass) -> MergedClass:
    """The ``Ivk`` class of the input struct whose model is ``definition``."""
    node = ast.parse(definition.source).body[0]
    if not isinstance(node, ast.ClassDef):
        raise GeneratorError(f"schema {cls.schema!r} is not a class in the generated models")
    lines = definition.source.splitlines()
    first = node.body[0]
    documented = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
    split = (first.end_lineno or node.lineno) if documented else node.lineno
    return MergedClass(
        name=cls.name,
        schema=cls.schema,
        bases=[*cls.bases[:-1], *(ast.unparse(base) for base in node.bases)],
        docstring="\n".join(lines[node.lineno : split]) if documented else None,
        required_keys=cls.required_keys,
        value_key=cls.value_key,
        body="\n".join(lines[split:]),
    )


def _part_imports(
    part: FieldsPart, located: dict[str, str], external: dict[str, str]
) -> dict[str, set[str]]:
    """Module -> names for one part: sibling modules, the models' imports, the runtime bases, and
    ``from __future__ import annotations`` only for a model that names one defined after it."""
    uses = {name for d in part.definitions for name in d.uses}
    uses |= {base for cls in part.classes for base in cls.bases}
    uses |= {"ClassVar"} if part.classes else set()
    pending = set(part.names())
    imports: dict[str, set[str]] = {}
    for definition in part.definitions:
        if definition.uses & pending:
            imports["__future__"] = {"annotations"}
        pending.discard(definition.name)
    for name in uses - set(part.names()):
        module = f".{located[name]}" if name in located else external.get(name)
        if module:
            imports.setdefault(module, set()).add(name)
    return imports


def render_fields(spec: Spec, catalog: Sequence[NodeSpec]) -> dict[str, str]:
    """File name -> source of every module of the ``fields`` package for ``spec``."""
    schemas = spec.schemas
    roots = input_structs(spec)
    classes = field_classes(schemas, roots)
    imports, body = models_source(schemas, ref_closure(schemas, roots))
    parts = field_parts(definitions(body), classes)
    located = {name: part.module for part in parts for name in part.names()}
    merging = {cls.schema: cls for cls in classes}
    external = {name: module for module, names in imports.items() for name in names}
    external |= dict.fromkeys([RESOURCE_MIXIN, *MIXINS.values()], "ivkgen.runtime")
    external["ClassVar"] = "typing"
    external["Field"] = "pydantic"
    label = str(Path(spec.source).name) if "://" not in spec.source else spec.source
    schedulers = scheduler_names(catalog)
    files = {
        f"{part.module}.py": render_python(
            "fields_part.py.j2",
            f"{label} -> {part.module}.py",
            header=_header(spec),
            import_sections=import_sections(_part_imports(part, located, external)),
            models=[
                merged_class(d, merging[d.name]) if d.name in merging and d.defines else d.source
                for d in part.definitions
            ],
        )
        for part in parts
    }
    files["__init__.py"] = render_python(
        "fields.py.j2",
        f"{label} -> __init__.py",
        header=_header(spec),
        scheduler_names=schedulers,
        type_imports=import_sections({f".{p.module}": set(p.names()) for p in parts}),
        all_names=sorted([*located, *(["SchedulerName"] if schedulers else [])], key=all_order),
        homes=sorted(located.items()),
    )
    return files


def scheduler_names(catalog: Sequence[NodeSpec]) -> list[str]:
    """The scheduler names of the first input typed ``SchedulerField`` (they all share them)."""
    for node in catalog:
        for spec in node.inputs.values():
            if spec.ui_type == "SchedulerField" and spec.choices:
                return list(spec.choices)
    return []


def render_catalog(spec: Spec, catalog: Sequence[NodeSpec]) -> str:
    """The text of ``catalog.json``: indented by one, keys sorted, nodes sorted by type."""
    data = {
        "generator": f"ivkgen {generator_version()}",
        **catalog_json(spec.invokeai_version, spec.sha256, catalog),
    }
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _header(spec: Spec) -> dict[str, str]:
    return {
        "version": generator_version(),
        "invokeai_version": spec.invokeai_version,
        "sha256": spec.sha256,
    }


def generate_fields(spec: Spec, out_dir: str | Path) -> list[Path]:
    """Render the ``fields_<version>`` package (with its ``catalog.json``) into ``out_dir`` in
    memory, then write it all (or none) and delete its modules that are no longer generated."""
    package = Path(out_dir) / fields_package_name(spec.invokeai_version)
    catalog = build_catalog(spec)
    files = {package / name: text for name, text in render_fields(spec, catalog).items()}
    files[package / CATALOG_FILE] = render_catalog(spec, catalog)
    stale = set(package.glob("_*.py")) - set(files)
    written = write_files(files)
    for path in sorted(stale):
        path.unlink()
    return written
