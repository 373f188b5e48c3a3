"""The models of a fields package as datamodel-code-generator writes them from the struct
schemas (every property optional, so an input can be "not set"; closed enums as ``StrEnum``s),
and the rewrite of its output: docstrings wrapped and escaped, mutable defaults made factories."""

from __future__ import annotations

import ast
from typing import Any

from ivkgen.generator import GeneratorError
from ivkgen.generator.render import docstring
from ivkgen.runtime._workflow.schema import Schemas

BASE_CLASS = "ivkgen.runtime.IvkStructField"
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


def models_source(schemas: Schemas, names: list[str]) -> tuple[dict[str, set[str]], str]:
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
