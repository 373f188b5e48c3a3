"""Emit ``generated/fields.py`` (the ``Ivk*`` struct classes) and ``generated/catalog.json``.

datamodel-code-generator turns the ``$ref`` closure of the struct schemas that invocation inputs
can hold into pydantic models (every property optional, so an input can be "not set"; closed
enums become ``StrEnum``s). The ``fields.py.j2`` template wraps each input struct in an
``Ivk<Name>Field`` class with its required keys, its ``.value`` key for resources, and the
hand-written helpers from :mod:`runtime.fields`.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datamodel_code_generator import InputFileType, generate
from datamodel_code_generator.enums import DataModelType
from datamodel_code_generator.format import PythonVersion

from generator import GeneratorError, generator_version
from generator.openapi import Schemas, Spec, build_catalog, input_structs, ivk_class_name, ref_name
from generator.render import import_sections, render_python, write_files
from runtime.catalog import CATALOG_FILE, FIELDS_MODULE

BASE_CLASS = "runtime.fields.IvkStructField"
MIXINS = {"ColorField": "IvkColorMixin", "BoundingBoxField": "IvkBoundingBoxMixin"}
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


def ref_closure(schemas: Schemas, roots: list[str]) -> list[str]:
    """``roots`` and every schema they reach through ``$ref``, sorted."""
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        if name not in schemas:
            raise GeneratorError(f"schema {name!r} is referenced but not defined")
        seen.add(name)
        pending.extend(_refs(schemas[name]))
    return sorted(seen)


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


_PROSE = frozenset({"description", "title", "examples"})
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")


def declaration(schema: Any) -> Any:
    """``schema`` without prose (titles, descriptions): the catalog carries those."""
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
        disable_timestamp=True,
        formatters=[],
    )
    if not isinstance(source, str):
        raise GeneratorError("datamodel-code-generator returned several modules")
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


def render_fields(spec: Spec) -> str:
    """The source of ``fields.py`` for ``spec``."""
    schemas = spec.schemas
    roots = input_structs(spec)
    classes = field_classes(schemas, roots)
    imports, body = _models(schemas, ref_closure(schemas, roots))
    imports.setdefault("__future__", set()).add("annotations")
    imports.setdefault("typing", set()).add("ClassVar")
    schedulers = scheduler_names(build_catalog(spec))
    if schedulers:
        imports["typing"].update({"Literal", "TypeAlias"})
    imports.setdefault("runtime.fields", set()).update(
        base for cls in classes for base in cls.bases if base.startswith("Ivk")
    )
    return render_python(
        "fields.py.j2",
        str(Path(spec.source).name) if "://" not in spec.source else spec.source,
        header=_header(spec),
        import_sections=import_sections(imports),
        models=body,
        classes=classes,
        scheduler_names=schedulers,
    )


def scheduler_names(catalog: dict[str, Any]) -> list[str]:
    """The scheduler names of the first input typed ``SchedulerField`` (they all share them)."""
    for node in catalog["nodes"]:
        for spec in node["inputs"]:
            if spec["ui_type"] == "SchedulerField" and spec["choices"]:
                return list(spec["choices"])
    return []


def render_catalog(spec: Spec) -> str:
    """The text of ``catalog.json``: indented by one, keys sorted, nodes sorted by type."""
    data = {"generator": f"ivkgen {generator_version()}", **build_catalog(spec)}
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _header(spec: Spec) -> dict[str, str]:
    return {
        "version": generator_version(),
        "invokeai_version": spec.invokeai_version,
        "sha256": spec.sha256,
    }


def generate_fields(spec: Spec, out_dir: str | Path) -> list[Path]:
    """Render ``fields.py`` and ``catalog.json`` in memory, then write both (or neither)."""
    out = Path(out_dir)
    files = {out / FIELDS_MODULE: render_fields(spec), out / CATALOG_FILE: render_catalog(spec)}
    return write_files(files)
