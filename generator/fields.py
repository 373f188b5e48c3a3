"""Emit a ``fields_<version>`` package: the ``Ivk*`` struct classes and the ``catalog.json``.

datamodel-code-generator turns the ``$ref`` closure of the struct schemas that invocation inputs
can hold into pydantic models (every property optional, so an input can be "not set"; closed
enums become ``StrEnum``s). The ``fields_part.py.j2`` template wraps each input struct in an
``Ivk<Name>Field`` class with its required keys, its ``.value`` key for resources, and the
hand-written helpers from :mod:`ivkgen.runtime.fields`.

The classes are split into small private modules so that importing a generated workflow module
builds only the classes it uses: each input struct (with its ``Ivk`` class) anchors a module,
and a model goes into the module of its only user, else into a module of its own. The package's
``__init__.py`` (``fields.py.j2``) names every class and loads its module on first use.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

from ivkgen.generator import GeneratorError, generator_version
from ivkgen.generator.naming import numbered
from ivkgen.generator.openapi import (
    Schemas,
    Spec,
    build_catalog,
    input_structs,
    ivk_class_name,
    ref_name,
)
from ivkgen.generator.render import (
    all_order,
    docstring,
    import_sections,
    render_python,
    write_files,
)
from ivkgen.runtime.workflow.catalog import (
    CATALOG_FILE,
    NodeSpec,
    catalog_json,
    fields_package_name,
)

BASE_CLASS = "ivkgen.runtime.fields.IvkStructField"
MIXINS = {
    "ColorField": "IvkColorMixin",
    "BoundingBoxField": "IvkBoundingBoxMixin",
    "ImageField": "IvkImageMixin",
}
RESOURCE_MIXIN = "IvkResourceMixin"


@dataclass(frozen=True)
class FieldClass:
    """One ``Ivk<Name>Field`` class to emit."""

    name: str
    schema: str
    bases: tuple[str, ...]
    required_keys: tuple[str, ...]
    value_key: str | None


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield ref_name(value)
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def reachable(roots: Iterable[str], edges: Callable[[str], Iterable[str]]) -> set[str]:
    """``roots`` and every name they reach through ``edges``."""
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending.extend(edges(name))
    return seen


def ref_closure(schemas: Schemas, roots: list[str]) -> list[str]:
    """``roots`` and every schema they reach through ``$ref``, sorted."""

    def refs(name: str) -> Iterator[str]:
        if name not in schemas:
            raise GeneratorError(f"schema {name!r} is referenced but not defined")
        return _refs(schemas[name])

    return sorted(reachable(roots, refs))


def _value_key(schema: dict[str, Any]) -> str | None:
    """The one required string property of a resource struct (``image_name``, ``board_id``)."""
    required = list(dict.fromkeys(schema.get("required", [])))
    if len(required) != 1 or "value" in schema.get("properties", {}):
        return None
    prop = schema.get("properties", {}).get(required[0], {})
    return required[0] if prop.get("type") == "string" else None


def field_classes(schemas: Schemas, roots: list[str]) -> list[FieldClass]:
    result = []
    for name in roots:
        schema = schemas[name]
        value_key = _value_key(schema)
        mixins = [RESOURCE_MIXIN] if value_key else []
        mixins += [MIXINS[name]] if name in MIXINS else []
        result.append(
            FieldClass(
                name=ivk_class_name(name),
                schema=name,
                bases=(*mixins, name),
                required_keys=tuple(sorted(set(schema.get("required", [])))),
                value_key=value_key,
            )
        )
    return result


_PROSE = frozenset({"title", "examples"})
_MUTABLE = (ast.List, ast.Dict, ast.Set)
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")


def declaration(schema: Any) -> Any:
    """``schema`` without titles and examples (descriptions stay: they become docstrings)."""
    if not isinstance(schema, dict):
        return schema
    result = {k: v for k, v in schema.items() if k not in _PROSE}
    if isinstance(schema.get("properties"), dict):
        result["properties"] = {k: declaration(v) for k, v in schema["properties"].items()}
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            result[key] = declaration(schema[key])
    for key in _SUBSCHEMA_LISTS:
        if isinstance(schema.get(key), list):
            result[key] = [declaration(item) for item in schema[key]]
    return result


def _models(schemas: Schemas, names: list[str]) -> tuple[dict[str, set[str]], str]:
    """The models datamodel-code-generator writes for ``names``: (imports, module body)."""
    from datamodel_code_generator import InputFileType, generate  # only when the schema changed
    from datamodel_code_generator.enums import DataModelType
    from datamodel_code_generator.format import PythonVersion

    document = {
        "openapi": "3.1.0",
        "info": {"title": "InvokeAI field schemas", "version": "1"},
        "paths": {},
        "components": {"schemas": {name: declaration(schemas[name]) for name in names}},
    }
    source = generate(
        document,
        input_file_type=InputFileType.OpenAPI,
        output_model_type=DataModelType.PydanticV2BaseModel,
        target_python_version=PythonVersion.PY_311,
        base_class=BASE_CLASS,
        field_constraints=True,
        force_optional_for_required_fields=True,
        set_default_enum_member=True,
        use_double_quotes=True,
        use_schema_description=True,
        use_field_description=True,
        disable_timestamp=True,
        formatters=[],
    )
    if not isinstance(source, str):
        raise GeneratorError("datamodel-code-generator returned several modules")
    source = tidy_models(source)
    tree = ast.parse(source)
    imports: dict[str, set[str]] = {}
    body_start = 0
    for node in tree.body:
        if not isinstance(node, ast.ImportFrom | ast.Import):
            break
        if isinstance(node, ast.ImportFrom) and node.module:
            imports.setdefault(node.module, set()).update(a.name for a in node.names)
        body_start = node.end_lineno or 0
    body = "\n".join(source.splitlines()[body_start:]).strip("\n")
    return imports, body


def tidy_models(source: str) -> str:
    """``source`` as datamodel-code-generator wrote it, with each class and attribute docstring
    (the schema's descriptions) rewritten by :func:`ivkgen.generator.render.docstring` (one
    wrapped, escaped paragraph) and each mutable default (``= []``) made a ``default_factory``,
    so that no class attribute is a shared mutable value."""
    lines = source.splitlines()
    edits: list[tuple[ast.stmt, str]] = []
    for cls in ast.walk(ast.parse(source)):
        if not isinstance(cls, ast.ClassDef):
            continue
        for node in cls.body:
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
                if isinstance(node.value.value, str):
                    edits.append((node, docstring(node.value.value, node.col_offset)))
            elif isinstance(node, ast.AnnAssign) and isinstance(node.value, _MUTABLE):
                declared = f"{ast.unparse(node.target)}: {ast.unparse(node.annotation)}"
                factory = f"Field(default_factory=lambda: {ast.unparse(node.value)})"
                edits.append((node, f"{declared} = {factory}"))
    for node, text in sorted(edits, key=lambda edit: edit[0].lineno, reverse=True):
        lines[node.lineno - 1 : node.end_lineno] = [" " * node.col_offset + text]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Definition:
    """One top-level statement of the models' module: the name it defines (for a statement that
    defines none, such as ``Model.model_rebuild()``, the first name it uses), its source and
    the names its code reads."""

    name: str
    source: str
    uses: frozenset[str]
    defines: bool


def definitions(body: str) -> list[Definition]:
    """The top-level statements of ``body``, in order."""
    lines = body.splitlines()
    found: list[Definition] = []
    for node in ast.parse(body).body:
        uses = [n.id for n in ast.walk(node) if isinstance(n, ast.Name) and type(n.ctx) is ast.Load]
        name = _defined_name(node) or next((u for u in uses if u in {d.name for d in found}), "")
        if not name:
            raise GeneratorError(f"unexpected statement in the generated models: {ast.dump(node)}")
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        found.append(
            Definition(
                name=name,
                source="\n".join(lines[start - 1 : node.end_lineno]),
                uses=frozenset(uses),
                defines=_defined_name(node) is not None,
            )
        )
    return found


def _defined_name(node: ast.stmt) -> str | None:
    if isinstance(node, ast.ClassDef):
        return node.name
    target: ast.expr
    if isinstance(node, ast.AnnAssign):
        target = node.target
    elif isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
    else:
        return None
    return target.id if isinstance(target, ast.Name) else None


def module_heads(defs: list[Definition], anchors: set[str]) -> dict[str, str]:
    """Defined name -> the name its module is named after. Each of ``anchors`` (the input
    structs) heads a module; models that use each other share one; a model that the code of one
    module only uses joins that module; any other model heads a module of its own."""
    order = [d.name for d in defs if d.defines]
    deps = {d.name: sorted((d.uses & set(order)) - {d.name}) for d in defs if d.defines}
    reach = {name: reachable(deps[name], deps.__getitem__) for name in order}
    cycle = {
        name: next(m for m in order if m == name or (m in reach[name] and name in reach[m]))
        for name in order
    }
    after: dict[str, set[str]] = {cycle[name]: set() for name in order}
    users: dict[str, set[str]] = {cycle[name]: set() for name in order}
    for name in order:
        for dep in deps[name]:
            if cycle[dep] != cycle[name]:
                after[cycle[name]].add(cycle[dep])
                users[cycle[dep]].add(cycle[name])
    anchored = {cycle[name] for name in anchors}
    head: dict[str, str] = {}
    for name in reversed(list(TopologicalSorter(after).static_order())):
        user_heads = {head[user] for user in users[name]}
        head[name] = user_heads.pop() if len(user_heads) == 1 and name not in anchored else name
    return {name: head[cycle[name]] for name in order}


@dataclass
class FieldsPart:
    """One private module of the ``fields`` package."""

    module: str
    definitions: list[Definition] = field(default_factory=list)
    classes: list[FieldClass] = field(default_factory=list)

    def names(self) -> list[str]:
        """The public names this module defines, in order."""
        models = [d.name for d in self.definitions if d.defines]
        return models + [cls.name for cls in self.classes]


def field_parts(defs: list[Definition], classes: list[FieldClass]) -> list[FieldsPart]:
    """The modules of the ``fields`` package, in the order of their first model."""
    heads = module_heads(defs, {cls.schema for cls in classes})
    order = list(dict.fromkeys(heads[d.name] for d in defs))
    modules = numbered(f"_{head.lower()}" for head in order)
    parts = {head: FieldsPart(module) for head, module in zip(order, modules, strict=True)}
    for definition in sorted(defs, key=lambda d: not d.defines):
        parts[heads[definition.name]].definitions.append(definition)
    for cls in classes:
        parts[heads[cls.schema]].classes.append(cls)
    return list(parts.values())


def merged_source(definition: Definition, cls: FieldClass) -> str:
    """The model of an input struct made its ``Ivk`` class: the runtime's mixins and keys added
    to the one class (a second class would cost its import time), the schema's name kept as an
    alias of it (other models and users name it so)."""
    node = ast.parse(definition.source).body[0]
    if not isinstance(node, ast.ClassDef):
        raise GeneratorError(f"schema {cls.schema!r} is not a class in the generated models")
    lines = definition.source.splitlines()
    bases = [*cls.bases[:-1], *(ast.unparse(base) for base in node.bases)]
    first = node.body[0]
    documented = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
    required = f"{{{', '.join(map(json.dumps, cls.required_keys))}}}" if cls.required_keys else ""
    added = [f"    required_keys: ClassVar[frozenset[str]] = frozenset({required})"]
    if cls.value_key:
        added.append(f"    value_key: ClassVar[str | None] = {json.dumps(cls.value_key)}")
    if not documented:
        added.insert(0, f'    """The value of an input of type ``{cls.schema}``."""')
    split = (first.end_lineno or node.lineno) if documented else node.lineno
    header = f"class {cls.name}({', '.join(bases)}):"
    body = [*lines[node.lineno : split], "", *added, "", *lines[split:]]
    return "\n".join([header, *body, "", "", f"{cls.schema} = {cls.name}"])


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
    imports, body = _models(schemas, ref_closure(schemas, roots))
    parts = field_parts(definitions(body), classes)
    located = {name: part.module for part in parts for name in part.names()}
    merging = {cls.schema: cls for cls in classes}
    external = {name: module for module, names in imports.items() for name in names}
    external |= dict.fromkeys([RESOURCE_MIXIN, *MIXINS.values()], "ivkgen.runtime.fields")
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
            models="\n\n\n".join(
                merged_source(d, merging[d.name]) if d.name in merging and d.defines else d.source
                for d in part.definitions
            ),
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
