"""The shape checks of a workflow file beyond what the GUI's loader checks: every value the
rest of ivkgen reads has the JSON type it needs, nothing is nested deeper than ``MAX_DEPTH``,
and every number can be sent as JSON.

Each check raises ``ShapeError`` with a message naming the node, its input or the form element
(``WorkflowDefinition.from_dict`` turns it into a ``WorkflowError`` naming the file).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ivkgen.runtime._errors import IvkgenError

MAX_DEPTH = 100
"""Deepest nesting of lists and objects a workflow may have (the GUI's are under 15)."""
INT_RANGE = (-(2**63), 2**63 - 1)
"""Integers the server can store (SQLite and torch use 64 bits)."""
TEXT_KEYS = ("name", "author", "description", "version", "contact", "tags", "notes")
NODE_TEXT_KEYS = ("label", "notes", "version", "nodePack")
INPUT_TEXT_KEYS = ("name", "label", "description")
MAPPING = (dict, Mapping)
"""What a JSON object may be; ``isinstance`` stops at ``dict`` before the slower ABC check."""


class ShapeError(IvkgenError, ValueError):
    """A value of the wrong JSON type, too deep or not representable; names where it is."""

    def __init__(self, message: str, node_id: str | None = None, field_name: str | None = None):
        super().__init__(message)
        self.node_id = node_id
        self.field_name = field_name


def check_shape(data: Mapping[str, Any]) -> None:
    """Raise ``ShapeError`` for the first value of ``data`` that ivkgen cannot use."""
    check_values(data)
    for key in TEXT_KEYS:
        _text(data, key, f"the workflow's {key!r}")
    nodes = data.get("nodes")
    if not isinstance(nodes, list):
        raise ShapeError("'nodes' is not a list")
    for node in nodes:
        if isinstance(node, MAPPING) and isinstance(node.get("data"), MAPPING):
            _check_node_data(str(node.get("id")), node["data"])
    edges = data.get("edges", [])
    if not isinstance(edges, list):
        raise ShapeError("'edges' is not a list")
    for index, edge in enumerate(edges):
        for end in ("id", "source", "target", "sourceHandle", "targetHandle"):
            if isinstance(edge, MAPPING) and end in edge and not isinstance(edge[end], str):
                raise ShapeError(f"edges[{index}] has a {end!r} that is not a string")
    check_form(data.get("form"))


def check_values(data: Any) -> None:
    """No nesting deeper than ``MAX_DEPTH``, no number JSON or the server cannot carry."""
    if _values_fit(data):
        return
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ShapeError(f"nested deeper than {MAX_DEPTH} levels at {where}")
        if isinstance(value, MAPPING):
            stack += ((v, f"{where}.{k}" if where else str(k), depth + 1) for k, v in value.items())
        elif isinstance(value, list):
            stack += ((v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value))
        elif isinstance(value, float) and not math.isfinite(value):
            raise ShapeError(f"{where} is {value}, which JSON cannot carry")
        elif isinstance(value, int) and not INT_RANGE[0] <= value <= INT_RANGE[1]:
            raise ShapeError(f"{where} is an integer outside the 64-bit range")


def _values_fit(data: Any) -> bool:
    """True when :func:`check_values` has nothing to say, found by a quick walk over the plain
    JSON types that builds no location names; False for a problem or anything unusual (the
    careful walk then looks)."""
    low, high = INT_RANGE
    level: list[Any] = [data]
    for _ in range(MAX_DEPTH + 1):
        deeper: list[Any] = []
        for value in level:
            kind = type(value)
            if kind is str or kind is bool or value is None:
                continue
            if kind is dict:
                deeper += value.values()
            elif kind is list:
                deeper += value
            elif kind is float:
                if not math.isfinite(value):
                    return False
            elif kind is not int or not low <= value <= high:
                return False
        if not deeper:
            return True
        level = deeper
    return False


def _text(data: Mapping[str, Any], key: str, what: str, node_id: str | None = None) -> None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ShapeError(f"{what} is a {type(value).__name__}, not a string", node_id)


def _check_node_data(node_id: str, data: Mapping[str, Any]) -> None:
    for key in NODE_TEXT_KEYS:
        _text(data, key, f"node {node_id!r}: {key!r}", node_id)
    inputs = data.get("inputs")
    if not isinstance(inputs, MAPPING):
        return
    for name, field in inputs.items():
        if not isinstance(field, MAPPING):
            continue
        for key in INPUT_TEXT_KEYS:
            value = field.get(key)
            if value is not None and not isinstance(value, str):
                raise ShapeError(
                    f"node {node_id!r} input {name!r}: {key!r} is a {type(value).__name__}, "
                    "not a string",
                    node_id,
                    str(name),
                )


def check_form(form: Any) -> None:
    """The form's elements: objects with object ``data``; node fields name a node and field."""
    if form is None:
        return
    if not isinstance(form, MAPPING):
        raise ShapeError("'form' is not an object")
    elements = form.get("elements", {})
    if not isinstance(elements, MAPPING):
        raise ShapeError("form 'elements' is not an object")
    if "rootElementId" in form and not isinstance(form["rootElementId"], str):
        raise ShapeError("form 'rootElementId' is not a string")
    for element_id, element in elements.items():
        what = f"form element {element_id!r}"
        if not isinstance(element, MAPPING):
            raise ShapeError(f"{what} is not an object")
        data = element.get("data", {})
        if not isinstance(data, MAPPING):
            raise ShapeError(f"{what}: 'data' is not an object")
        children = data.get("children", [])
        if not isinstance(children, list) or not all(isinstance(c, str) for c in children):
            raise ShapeError(f"{what}: 'children' is not a list of element ids")
        if element.get("type") == "node-field":
            ident = data.get("fieldIdentifier")
            if not isinstance(ident, MAPPING) or not all(
                isinstance(ident.get(k), str) for k in ("nodeId", "fieldName")
            ):
                raise ShapeError(f"{what}: 'fieldIdentifier' does not name a nodeId and fieldName")
    _check_form_depth(elements, form.get("rootElementId", "root"))


def _check_form_depth(elements: Mapping[str, Any], root_id: str) -> None:
    """No container more than ``MAX_DEPTH`` containers below the form's root."""
    stack = [(root_id, 0)]
    seen = {root_id}
    while stack:
        element_id, depth = stack.pop()
        element = elements.get(element_id)
        if isinstance(element, MAPPING) and element.get("type") == "container":
            if depth > MAX_DEPTH:
                raise ShapeError(
                    f"form element {element_id!r} is nested deeper than {MAX_DEPTH} containers"
                )
            children = element.get("data", {}).get("children", [])
            stack += ((child, depth + 1) for child in children if child not in seen)
            seen.update(children)
