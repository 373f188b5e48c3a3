"""Batch nodes -> ``Batch.data``, and connector chains followed back to their invocation.

Batch nodes' items (or their generator's items) are zipped within a batch group and combined as
a cartesian product across groups; group ``"None"`` gives each batch node its own list. An edge
from a connector stands for the invocation output feeding the connector chain. Pure functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ivkgen.runtime._errors import WorkflowError
from ivkgen.runtime._workflow.generators import resolve_generator

BATCH_FIELDS = {
    "image_batch": "images",
    "string_batch": "strings",
    "integer_batch": "integers",
    "float_batch": "floats",
}
GENERATOR_TYPES = frozenset(
    {"image_generator", "string_generator", "integer_generator", "float_generator"}
)
CONNECTOR_IN = "in"

Workflow = Mapping[str, Any]


def resolve_source(
    node_id: str,
    handle: str,
    nodes: Mapping[str, Mapping[str, Any]],
    edges: list[Mapping[str, Any]],
) -> tuple[str, str] | None:
    """The invocation output behind ``node_id.handle``, following connector chains."""
    visited: set[str] = set()
    while nodes[node_id]["type"] == "connector":
        if node_id in visited:
            return None
        visited.add(node_id)
        incoming = next(
            (e for e in edges if e["target"] == node_id and e["targetHandle"] == CONNECTOR_IN), None
        )
        if incoming is None:
            return None
        node_id, handle = incoming["source"], incoming["sourceHandle"]
    if nodes[node_id]["type"] != "invocation":
        return None
    return node_id, handle


def build_batch_data(workflow: Workflow) -> list[list[dict[str, Any]]]:
    """``Batch.data`` for the workflow's batch nodes (``[]`` when it has none)."""
    nodes = {node["id"]: node for node in workflow["nodes"]}
    default_edges = [edge for edge in workflow["edges"] if edge["type"] == "default"]
    groups: dict[str, list[list[dict[str, Any]]]] = {}
    for node in workflow["nodes"]:
        if node["type"] != "invocation" or node["data"]["type"] not in BATCH_FIELDS:
            continue
        items = _batch_items(node, nodes, default_edges)
        output = "image" if node["data"]["type"] == "image_batch" else "value"
        datums = [
            {"node_path": edge["target"], "field_name": edge["targetHandle"], "items": items}
            for edge in default_edges
            if edge["source"] == node["id"] and edge["sourceHandle"] == output
        ]
        group = (node["data"]["inputs"].get("batch_group_id") or {}).get("value") or "None"
        groups.setdefault(group, []).append(datums)
    data: list[list[dict[str, Any]]] = []
    for group, per_node in groups.items():
        if group == "None":
            data.extend(datums for datums in per_node if datums)
        else:
            zipped = [datum for datums in per_node for datum in datums]
            if zipped:
                data.append(zipped)
    return data


def _batch_items(
    node: Mapping[str, Any], nodes: Mapping[str, Mapping[str, Any]], edges: list[Mapping[str, Any]]
) -> list[Any]:
    data = node["data"]
    field_name = BATCH_FIELDS[data["type"]]
    incoming = next(
        (e for e in edges if e["target"] == node["id"] and e["targetHandle"] == field_name), None
    )
    if incoming is None:
        items = (data["inputs"].get(field_name) or {}).get("value")
        return _checked_items(node, field_name, [] if items is None else items)
    source = resolve_source(incoming["source"], incoming["sourceHandle"], nodes, edges)
    generator = nodes[source[0]] if source else None
    if generator is None or generator["data"]["type"] not in GENERATOR_TYPES:
        raise WorkflowError(
            f"batch node {node['id']!r} ({data['type']}): its {field_name!r} input must be a "
            "list or come from a generator node",
            node_id=node["id"],
            node_type=data["type"],
            field_name=field_name,
        )
    generator_data = generator["data"]
    value = (generator_data["inputs"].get("generator") or {}).get("value")
    try:
        return _checked_items(node, field_name, resolve_generator(generator_data["type"], value))
    except ValueError as exc:
        raise WorkflowError(
            f"generator node {generator['id']!r} ({generator_data['type']}): {exc}",
            node_id=generator["id"],
            node_type=generator_data["type"],
            field_name="generator",
        ) from exc


_BATCH_ITEM_TYPES: dict[str, tuple[type, ...]] = {
    "images": (Mapping,),
    "strings": (str,),
    "integers": (int,),
    "floats": (int, float),
}


def _checked_items(node: Mapping[str, Any], field_name: str, items: Any) -> list[Any]:
    """A batch node's items, refused unless they are a list of its item type (a string is not
    a list of its characters, nor an object a list of its keys)."""
    kinds = _BATCH_ITEM_TYPES[field_name]
    if not isinstance(items, list) or not all(
        isinstance(item, kinds) and not isinstance(item, bool) for item in items
    ):
        node_type = node["data"]["type"]
        raise WorkflowError(
            f"batch node {node['id']!r} ({node_type}): its {field_name!r} must be a list of "
            f"{field_name}, not {items!r:.80}",
            node_id=node["id"],
            node_type=node_type,
            field_name=field_name,
        )
    return list(items)
