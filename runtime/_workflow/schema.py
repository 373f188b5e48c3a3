"""The node catalog of an InvokeAI OpenAPI document: what each invocation accepts and produces.

Types come from the schema alone: ``type``/``enum``/``const``/``$ref``/``anyOf``/``items`` give the
type expression and the ``Ivk*`` class; ``orig_required``, ``input``, ``ui_*`` and the numeric and
length keywords give the rest of an :class:`ivkgen.runtime._workflow.catalog.InputSpec`. The
records are built here once: the generator serialises them into ``catalog.json``
(:func:`ivkgen.runtime._workflow.catalog.catalog_json`); the runtime reads a server's schema with
them to find drift (:mod:`ivkgen.runtime._workflow.drift`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ivkgen.runtime._errors import IvkgenError
from ivkgen.runtime._workflow.catalog import InputSpec, NodeSpec, OutputSpec

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


class SchemaError(IvkgenError, ValueError):
    """An invocation schema lacks what the catalog needs."""


def is_invocation(schema: Any) -> bool:
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


def branches(prop: dict[str, Any]) -> list[dict[str, Any]]:
    if "anyOf" in prop or "oneOf" in prop:
        return [b for sub in prop.get("anyOf", prop.get("oneOf", [])) for b in branches(sub)]
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
    found = branches(prop)
    nullable = any(b.get("type") == "null" for b in found)
    singles: list[_Base] = []
    lists: list[_Base] = []
    for branch in found:
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
        model_bases=_strings(prop.get("ui_model_base")),
        model_types=_strings(prop.get("ui_model_type")),
    )


def _strings(value: Any) -> tuple[str, ...] | None:
    """A schema's list of names (or one name) as a tuple; ``None`` when absent."""
    if value is None:
        return None
    return tuple(map(str, value)) if isinstance(value, list) else (str(value),)


def _type_const(schema: dict[str, Any]) -> str:
    prop = schema.get("properties", {}).get("type", {})
    return str(prop.get("const", prop.get("default", "")))


def _node(schema_name: str, schema: dict[str, Any], schemas: Schemas) -> NodeSpec:
    node_type = _type_const(schema)
    if not node_type:
        raise SchemaError(f"invocation schema {schema_name} has no 'type' const")
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


def node_specs(schemas: Schemas) -> list[NodeSpec]:
    """Every invocation of the schema as a :class:`NodeSpec`, sorted by node type."""
    nodes = [_node(name, s, schemas) for name, s in schemas.items() if is_invocation(s)]
    return sorted(nodes, key=lambda n: n.type)
