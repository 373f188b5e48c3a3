"""Load an InvokeAI OpenAPI document and build the node catalog from its invocation schemas.

Types come from the schema alone: ``type``/``enum``/``const``/``$ref``/``anyOf``/``items`` give the
type expression and the ``Ivk*`` class; ``orig_required``, ``input``, ``ui_*`` and the numeric and
length keywords give the rest of an :class:`ivkgen.runtime.workflow.catalog.InputSpec`. The
catalog is built as the runtime's ``NodeSpec`` records, which ``catalog.json`` serialises.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ivkgen.generator import GeneratorError
from ivkgen.runtime.timeouts import REQUEST_TIMEOUT
from ivkgen.runtime.workflow.catalog import InputSpec, NodeSpec, OutputSpec

Schemas = dict[str, dict[str, Any]]
Cardinality = Literal["single", "collection", "single_or_collection"]

INPUT_KINDS = ("input", "internal")
SCALARS = {"integer": "int", "number": "float", "string": "str", "boolean": "bool"}
PRIMITIVE_CLASSES = {
    "int": "IvkIntegerField",
    "float": "IvkFloatField",
    "str": "IvkStringField",
    "bool": "IvkBooleanField",
    "Any": "IvkAnyField",
    "dict[str, Any]": "IvkAnyField",
}
# Struct types the GUI lets a user edit directly (``isStatefulFieldType``); every other struct
# type, ``Any`` and free-form objects can only be connected.
STATEFUL_STRUCTS = frozenset(
    {
        "ImageField",
        "VideoField",
        "BoardField",
        "StylePresetField",
        "SystemPromptField",
        "ModelIdentifierField",
        "LoRAField",
        "ColorField",
        "FloatGeneratorField",
        "IntegerGeneratorField",
        "StringGeneratorField",
        "ImageGeneratorField",
    }
)
CONSTRAINT_KEYS = {
    "minimum": "ge",
    "maximum": "le",
    "exclusiveMinimum": "gt",
    "exclusiveMaximum": "lt",
    "ge": "ge",
    "le": "le",
    "gt": "gt",
    "lt": "lt",
    "multipleOf": "multiple_of",
    "minLength": "min_length",
    "maxLength": "max_length",
}
_VERSION_IN_NAME = re.compile(r"invokeai-(\d+(?:\.\d+)*)\.json$")


class OpenAPIError(GeneratorError):
    """The OpenAPI document is unreadable or is not an InvokeAI schema."""


@dataclass(frozen=True)
class Spec:
    """A loaded OpenAPI document with where it came from and its hash."""

    data: dict[str, Any]
    sha256: str
    source: str
    invokeai_version: str

    @property
    def schemas(self) -> Schemas:
        result: Schemas = self.data["components"]["schemas"]
        return result


def parse_spec(raw: bytes, source: str, invokeai_version: str) -> Spec:
    """Check ``raw`` is an OpenAPI JSON document with InvokeAI invocation schemas."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OpenAPIError(f"{source}: not JSON ({exc})") from None
    if not isinstance(data, dict) or "openapi" not in data:
        raise OpenAPIError(f"{source}: not an OpenAPI document (no 'openapi' key)")
    schemas = data.get("components", {}).get("schemas")
    if not isinstance(schemas, dict) or not any(_is_invocation(s) for s in schemas.values()):
        raise OpenAPIError(f"{source}: no InvokeAI invocation schemas in components.schemas")
    return Spec(data, hashlib.sha256(raw).hexdigest(), source, invokeai_version)


def read_file(path: str | Path) -> bytes:
    """The bytes of a captured ``openapi.json``."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise OpenAPIError(f"{path}: cannot read ({exc.strerror})") from None


def load_file(path: str | Path, invokeai_version: str | None = None) -> Spec:
    """Read a captured ``openapi.json``; the version defaults to the ``invokeai-<v>.json`` name."""
    path = Path(path)
    raw = read_file(path)
    if invokeai_version is None:
        match = _VERSION_IN_NAME.search(path.name)
        if match is None:
            raise OpenAPIError(
                f"{path}: cannot tell the InvokeAI version from the file name; "
                "name it invokeai-<version>.json or pass --invokeai-version"
            )
        invokeai_version = match.group(1)
    return parse_spec(raw, str(path), invokeai_version)


def fetch(url: str, invokeai_version: str | None = None, timeout: float = REQUEST_TIMEOUT) -> Spec:
    """Download ``/openapi.json`` (and ``/api/v1/app/version``) from a running server."""
    import httpx  # here: generating from a file needs no HTTP client

    base = url.rstrip("/")
    try:
        with httpx.Client(timeout=timeout) as client:
            response = client.get(f"{base}/openapi.json")
            response.raise_for_status()
            if invokeai_version is None:
                reply = client.get(f"{base}/api/v1/app/version")
                reply.raise_for_status()
                invokeai_version = str(reply.json()["version"])
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        raise OpenAPIError(f"{base}: cannot fetch the OpenAPI schema ({exc})") from None
    return parse_spec(response.content, f"{base}/openapi.json", invokeai_version)


def _is_invocation(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("class") == "invocation"


def ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def ivk_class_name(schema_name: str) -> str:
    """``ImageField`` -> ``IvkImageField``; ``Tile`` -> ``IvkTileField``."""
    return f"Ivk{schema_name}" if schema_name.endswith("Field") else f"Ivk{schema_name}Field"


def is_enum_schema(schema: dict[str, Any]) -> bool:
    return "enum" in schema


@dataclass(frozen=True)
class ParsedType:
    """An OpenAPI property reduced to what the catalog needs."""

    base: str
    cardinality: Cardinality
    nullable: bool
    choices: tuple[Any, ...] | None = None
    other: tuple[str, ...] = ()

    @property
    def expr(self) -> str:
        if self.other:
            return " | ".join(self.other)
        if self.cardinality == "collection":
            return f"list[{self.base}]"
        if self.cardinality == "single_or_collection":
            return f"{self.base} | list[{self.base}]"
        return self.base


def _branches(prop: dict[str, Any]) -> list[dict[str, Any]]:
    if "anyOf" in prop or "oneOf" in prop:
        return [b for sub in prop.get("anyOf", prop.get("oneOf", [])) for b in _branches(sub)]
    return [prop]


@dataclass
class _Base:
    name: str
    choices: tuple[Any, ...] | None = None
    constraints: dict[str, int | float] = field(default_factory=dict)


def _scalar(schema: dict[str, Any], schemas: Schemas) -> _Base:
    if "$ref" in schema:
        name = ref_name(schema["$ref"])
        target = schemas.get(name, {})
        if is_enum_schema(target):
            return _Base(SCALARS.get(target.get("type", "string"), "str"), tuple(target["enum"]))
        return _Base("dict[str, Any]" if name not in schemas else name)
    constraints = {
        CONSTRAINT_KEYS[k]: v
        for k, v in schema.items()
        if k in CONSTRAINT_KEYS and isinstance(v, int | float) and not isinstance(v, bool)
    }
    if "enum" in schema:
        return _Base(SCALARS.get(schema.get("type", "string"), "str"), tuple(schema["enum"]))
    if "const" in schema:
        return _Base(SCALARS.get(schema.get("type", "string"), "str"), (schema["const"],))
    kind = schema.get("type")
    if kind == "object":
        return _Base("dict[str, Any]")
    if isinstance(kind, str) and kind in SCALARS:
        return _Base(SCALARS[kind], constraints=constraints)
    return _Base("Any")


def parse_property(prop: dict[str, Any], schemas: Schemas) -> tuple[ParsedType, dict[str, Any]]:
    """The parsed type of ``prop`` and its constraints (``ge``, ``multiple_of``, ...)."""
    branches = _branches(prop)
    nullable = any(b.get("type") == "null" for b in branches)
    singles: list[_Base] = []
    lists: list[_Base] = []
    for branch in branches:
        if branch.get("type") == "null":
            continue
        if branch.get("type") == "array":
            lists.append(_scalar(branch.get("items", {}), schemas))
        else:
            singles.append(_scalar(branch, schemas))
    constraints: dict[str, Any] = {}
    for base in singles:
        constraints.update(base.constraints)
    constraints.update(_scalar({k: v for k, v in prop.items() if k != "type"}, schemas).constraints)
    if len(singles) + len(lists) == 1:
        base = (singles or lists)[0]
        cardinality: Cardinality = "single" if singles else "collection"
        return ParsedType(base.name, cardinality, nullable, base.choices), constraints
    if len(singles) == 1 and len(lists) == 1 and singles[0].name == lists[0].name:
        base = singles[0]
        return ParsedType(base.name, "single_or_collection", nullable, base.choices), constraints
    if not singles and not lists:
        return ParsedType("Any", "single", nullable), constraints
    exprs = [b.name for b in singles] + [f"list[{b.name}]" for b in lists]
    return ParsedType("Any", "single", nullable, other=tuple(dict.fromkeys(exprs))), constraints


def ivk_class_for(parsed: ParsedType, ui_type: str | None) -> str:
    """The ``Ivk*`` class that holds a value of this type (a single value for ``T | list[T]``)."""
    if parsed.other:
        return "IvkAnyField"
    if parsed.cardinality == "collection":
        return "IvkCollectionField"
    if parsed.choices is not None:
        return "IvkSchedulerField" if ui_type == "SchedulerField" else "IvkEnumField"
    if parsed.base in PRIMITIVE_CLASSES:
        return PRIMITIVE_CLASSES[parsed.base]
    return ivk_class_name(parsed.base)


def is_stateful(parsed: ParsedType, ui_type: str | None) -> bool:
    """The GUI rule: only primitives, enums and a few struct types have a direct editor."""
    if parsed.other or parsed.base in ("Any", "dict[str, Any]"):
        return False
    if parsed.choices is not None or parsed.base in PRIMITIVE_CLASSES:
        return True
    return parsed.base in STATEFUL_STRUCTS or ui_type == "SchedulerField"


def _input_spec(name: str, prop: dict[str, Any], schemas: Schemas) -> InputSpec:
    parsed, constraints = parse_property(prop, schemas)
    ui_type = prop.get("ui_type")
    input_kind = prop.get("input", "any")
    required = bool(prop.get("orig_required", False))
    has_default = "orig_default" in prop or ("default" in prop and not required)
    default = prop.get("orig_default", prop.get("default")) if has_default else None
    return InputSpec(
        name=name,
        type=parsed.expr,
        ivk_class=ivk_class_for(parsed, ui_type),
        required=required,
        input=input_kind,
        connection_only=input_kind == "connection" or not is_stateful(parsed, ui_type),
        nullable=parsed.nullable,
        has_default=has_default,
        default=default,
        title=prop.get("title", ""),
        description=prop.get("description", ""),
        field_kind=prop.get("field_kind", "input"),
        ui_hidden=bool(prop.get("ui_hidden", False)),
        ui_type=ui_type,
        choices=parsed.choices,
        constraints=constraints,
    )


def _type_const(schema: dict[str, Any]) -> str:
    prop = schema.get("properties", {}).get("type", {})
    return str(prop.get("const", prop.get("default", "")))


def _node(schema_name: str, schema: dict[str, Any], schemas: Schemas) -> NodeSpec:
    node_type = _type_const(schema)
    if not node_type:
        raise OpenAPIError(f"invocation schema {schema_name} has no 'type' const")
    output_schema = schemas.get(ref_name(schema.get("output", {}).get("$ref", "")), {})
    outputs = [
        OutputSpec(
            name=name,
            type=parse_property(prop, schemas)[0].expr,
            title=prop.get("title", ""),
            description=prop.get("description", ""),
        )
        for name, prop in output_schema.get("properties", {}).items()
        if name != "type"
    ]
    inputs = [
        _input_spec(name, prop, schemas)
        for name, prop in schema.get("properties", {}).items()
        if prop.get("field_kind") in INPUT_KINDS
    ]
    return NodeSpec(
        type=node_type,
        version=schema.get("version", ""),
        title=schema.get("title", schema_name),
        category=schema.get("category", ""),
        description=schema.get("description", ""),
        classification=schema.get("classification", "stable"),
        output_type=_type_const(output_schema),
        inputs={spec.name: spec for spec in inputs},
        outputs={spec.name: spec for spec in outputs},
    )


def build_catalog(spec: Spec) -> list[NodeSpec]:
    """The node catalog of the schema: every invocation, sorted by node type."""
    schemas = spec.schemas
    nodes = [_node(name, s, schemas) for name, s in schemas.items() if _is_invocation(s)]
    return sorted(nodes, key=lambda n: n.type)


def input_structs(spec: Spec) -> list[str]:
    """Struct schemas an invocation input can hold, sorted: the roots of the field classes."""
    names: set[str] = set()
    schemas = spec.schemas
    for schema in schemas.values():
        if not _is_invocation(schema):
            continue
        for prop in schema.get("properties", {}).values():
            if prop.get("field_kind") not in INPUT_KINDS:
                continue
            for branch in _branches(prop):
                target = branch.get("items", branch) if branch.get("type") == "array" else branch
                name = ref_name(target.get("$ref", ""))
                if name in schemas and not is_enum_schema(schemas[name]):
                    names.add(name)
    return sorted(names)
