"""Builders for small inline GUI workflows used by the unit tests."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

ABSENT = object()
"""Pass as an input value to leave the input without a ``value`` key."""

_ids = itertools.count()


def field(name: str, value: Any = ABSENT, label: str = "", description: str = "") -> dict[str, Any]:
    data: dict[str, Any] = {"name": name, "label": label, "description": description}
    if value is not ABSENT:
        data["value"] = value
    return data


def node(
    node_id: str,
    node_type: str,
    *,
    label: str = "",
    is_intermediate: bool = True,
    use_cache: bool = True,
    **values: Any,
) -> dict[str, Any]:
    """An invocation node; keyword arguments are its inputs' values (or input dicts)."""
    inputs = {
        name: value if isinstance(value, dict) and "name" in value else field(name, value)
        for name, value in values.items()
    }
    data = {
        "id": node_id,
        "type": node_type,
        "version": "1.0.0",
        "nodePack": "invokeai",
        "label": label,
        "notes": "",
        "isOpen": True,
        "isIntermediate": is_intermediate,
        "useCache": use_cache,
        "inputs": inputs,
    }
    return {"id": node_id, "type": "invocation", "data": data, "position": {"x": 0, "y": 0}}


def notes(node_id: str) -> dict[str, Any]:
    data = {"id": node_id, "type": "notes", "label": "Notes", "isOpen": True, "notes": "hi"}
    return {"id": node_id, "type": "notes", "data": data, "position": {"x": 1.5, "y": 2}}


def connector(node_id: str) -> dict[str, Any]:
    data = {"id": node_id, "type": "connector", "label": "", "isOpen": True}
    return {"id": node_id, "type": "connector", "data": data, "position": {"x": 0, "y": 0}}


def edge(source: str, source_handle: str, target: str, target_handle: str) -> dict[str, Any]:
    return {
        "id": f"e-{next(_ids)}",
        "type": "default",
        "source": source,
        "target": target,
        "sourceHandle": source_handle,
        "targetHandle": target_handle,
    }


def collapsed(source: str, target: str) -> dict[str, Any]:
    return {"id": f"c-{next(_ids)}", "type": "collapsed", "source": source, "target": target}


def node_field(node_id: str, field_name: str) -> dict[str, Any]:
    """A form ``node-field`` element (its id is made up)."""
    ident = {"nodeId": node_id, "fieldName": field_name}
    return {
        "id": f"node-field-{next(_ids)}",
        "type": "node-field",
        "data": {"fieldIdentifier": ident, "showDescription": False},
    }


def container(*children: dict[str, Any], layout: str = "column") -> dict[str, Any]:
    return {
        "id": f"container-{next(_ids)}",
        "type": "container",
        "data": {"layout": layout, "children": list(children)},
    }


def heading(text: str) -> dict[str, Any]:
    return {"id": f"heading-{next(_ids)}", "type": "heading", "data": {"content": text}}


def form(*children: dict[str, Any]) -> dict[str, Any]:
    """A form whose root holds ``children`` (nested containers allowed), flattened by id."""
    elements: dict[str, Any] = {}

    def add(element: dict[str, Any], parent: str | None) -> str:
        element = dict(element)
        if parent is not None:
            element["parentId"] = parent
        if element["type"] == "container":
            kids = [add(child, element["id"]) for child in element["data"]["children"]]
            element["data"] = {**element["data"], "children": kids}
        elements[element["id"]] = element
        return str(element["id"])

    add(
        {"id": "root", "type": "container", "data": {"layout": "column", "children": children}},
        None,
    )
    return {"elements": elements, "rootElementId": "root"}


def workflow(
    nodes: Iterable[dict[str, Any]],
    edges: Iterable[dict[str, Any]] = (),
    *,
    form: dict[str, Any] | None = None,
    exposed: Iterable[tuple[str, str]] = (),
    version: str = "3.0.0",
    name: str = "test",
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": name,
        "author": "",
        "description": "",
        "version": "",
        "contact": "",
        "tags": "",
        "notes": "",
        "exposedFields": [{"nodeId": n, "fieldName": f} for n, f in exposed],
        "meta": {"version": version, "category": "user"},
        "nodes": list(nodes),
        "edges": list(edges),
    }
    if form is not None:
        data["form"] = form
    return data
