"""The struct schemas a fields package declares: the input structs (each gets an ``Ivk<Name>Field``
class with the runtime's mixins and keys) and every schema they reach through ``$ref``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ivkgen.generator import GeneratorError
from ivkgen.runtime._workflow.schema import Schemas, ivk_class_name, ref_name

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
