"""Workflow -> the graph, batch data and enqueue body the InvokeAI GUI sends. Pure functions.

The rules are the GUI's (``buildNodesGraph`` and the workflow enqueue hook):

* only executable invocation nodes with a known type become graph nodes; notes, connectors,
  batch and generator nodes are dropped;
* a node carries its inputs' values as saved (``null`` stays ``null``, an absent value stays
  absent), inputs the node type does not define are dropped (``core_metadata`` keeps extras),
  plus ``use_cache`` and ``is_intermediate`` from the node;
* board inputs: ``"auto"``, empty or absent means the GUI's auto-add board, which ivkgen does not
  have: the board id passed as ``board`` is used, else the input is omitted (the server then uses
  no board); ``"none"`` is omitted; ``{"board_id": ...}`` is sent as is;
* only ``default`` edges count; an edge from a connector is rewritten to the invocation output
  feeding the connector chain; edges touching dropped nodes go; duplicates go; every input with
  a kept incoming edge loses its value;
* batch nodes become ``Batch.data``: their items (or their generator's items) are zipped within a
  batch group and combined as a cartesian product across groups; group ``"None"`` gives each
  batch node its own list.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from typing import Any

from runtime.catalog import Catalog, default_catalog
from runtime.errors import WorkflowError
from runtime.generators import resolve_generator

BATCH_FIELDS = {
    "image_batch": "images",
    "string_batch": "strings",
    "integer_batch": "integers",
    "float_batch": "floats",
}
GENERATOR_TYPES = frozenset(
    {"image_generator", "string_generator", "integer_generator", "float_generator"}
)
EXTRA_INPUTS_TYPES = frozenset({"core_metadata"})
WORKFLOW_KEYS: tuple[str, ...] = ("name", "author", "description", "version", "contact", "tags")
WORKFLOW_KEYS += ("notes", "exposedFields", "meta", "form")
CONNECTOR_IN = "in"
BOARD_SENTINELS = ("auto", "none")

Workflow = Mapping[str, Any]


def is_executable(node: Mapping[str, Any]) -> bool:
    """An invocation node the server can run (not a batch or generator node)."""
    if node.get("type") != "invocation":
        return False
    node_type = node["data"]["type"]
    return node_type not in BATCH_FIELDS and node_type not in GENERATOR_TYPES


def build_graph(
    workflow: Workflow,
    catalog: Catalog | None = None,
    *,
    board: str | None = None,
    graph_id: str | None = None,
) -> dict[str, Any]:
    """The ``Graph`` the GUI builds from ``workflow`` (a ``WorkflowDefinition.to_dict()``)."""
    catalog = catalog or default_catalog()
    kept = {
        node["id"]: node
        for node in workflow["nodes"]
        if is_executable(node) and node["data"]["type"] in catalog.nodes
    }
    nodes = {node_id: _graph_node(node, catalog, board) for node_id, node in kept.items()}
    edges = _graph_edges(workflow, kept)
    for edge in edges:
        nodes[edge["destination"]["node_id"]].pop(edge["destination"]["field"], None)
    return {"id": graph_id or str(uuid.uuid4()), "nodes": nodes, "edges": edges}


def _graph_node(node: Mapping[str, Any], catalog: Catalog, board: str | None) -> dict[str, Any]:
    data = node["data"]
    specs = catalog.node(data["type"]).inputs
    out: dict[str, Any] = {"type": data["type"], "id": node["id"]}
    for name, field in data["inputs"].items():
        spec = specs.get(name)
        if spec is not None and spec.type == "BoardField":
            value = board_value(field.get("value"), board)
            if value is not None:
                out[name] = value
            continue
        if "value" not in field:
            continue
        if spec is None:
            if data["type"] in EXTRA_INPUTS_TYPES:
                out[name] = copy.deepcopy(field["value"])
            continue
        out[name] = copy.deepcopy(field["value"])
    for key, source in (("use_cache", "useCache"), ("is_intermediate", "isIntermediate")):
        if source in data:
            out[key] = data[source]
    return out


def board_value(value: Any, board: str | None) -> dict[str, Any] | None:
    """A board input's value in the graph, or ``None`` to omit it (see the module docstring).

    ``{"board_id": "auto"}`` and ``{"board_id": "none"}`` (how a board field holds the GUI's
    ``"auto"``/``"none"``) mean the same as the bare strings.
    """
    if isinstance(value, Mapping):
        value = value.get("board_id") if value.get("board_id") in BOARD_SENTINELS else value
    if value == "none":
        return None
    if value == "auto" or not value:
        return {"board_id": board} if board else None
    return dict(value)


def _graph_edges(workflow: Workflow, kept: Mapping[str, Any]) -> list[dict[str, Any]]:
    nodes = {node["id"]: node for node in workflow["nodes"]}
    default_edges = [edge for edge in workflow["edges"] if edge["type"] == "default"]
    seen: set[tuple[str, str, str, str]] = set()
    edges: list[dict[str, Any]] = []
    for edge in default_edges:
        if edge["target"] not in kept:
            continue
        source = _resolve_source(edge["source"], edge["sourceHandle"], nodes, default_edges)
        if source is None or source[0] not in kept:
            continue
        key = (*source, edge["target"], edge["targetHandle"])
        if key in seen:
            continue
        seen.add(key)
        edges.append(
            {
                "source": {"node_id": source[0], "field": source[1]},
                "destination": {"node_id": edge["target"], "field": edge["targetHandle"]},
            }
        )
    return edges


def _resolve_source(
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
    node: Mapping[str, Any],
    nodes: Mapping[str, Mapping[str, Any]],
    edges: list[Mapping[str, Any]],
) -> list[Any]:
    data = node["data"]
    field_name = BATCH_FIELDS[data["type"]]
    incoming = next(
        (e for e in edges if e["target"] == node["id"] and e["targetHandle"] == field_name), None
    )
    if incoming is None:
        return list((data["inputs"].get(field_name) or {}).get("value") or [])
    source = _resolve_source(incoming["source"], incoming["sourceHandle"], nodes, edges)
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
        return resolve_generator(generator_data["type"], value)
    except ValueError as exc:
        raise WorkflowError(
            f"generator node {generator['id']!r} ({generator_data['type']}): {exc}",
            node_id=generator["id"],
            node_type=generator_data["type"],
            field_name="generator",
        ) from exc


def workflow_for_batch(workflow: Workflow) -> dict[str, Any]:
    """The workflow embedded in the batch: the GUI's keys only, without the library ``id``."""
    out = {key: copy.deepcopy(workflow[key]) for key in WORKFLOW_KEYS if key in workflow}
    out["nodes"] = [
        {key: copy.deepcopy(node[key]) for key in ("id", "type", "data", "position") if key in node}
        for node in workflow["nodes"]
    ]
    out["edges"] = [_edge_for_batch(edge) for edge in workflow["edges"]]
    return out


def _edge_for_batch(edge: Mapping[str, Any]) -> dict[str, Any]:
    keys: tuple[str, ...] = ("id", "type", "source", "target")
    if edge["type"] == "default":
        keys += ("sourceHandle", "targetHandle", "hidden")
    return {key: edge[key] for key in keys if key in edge}


def build_enqueue_body(
    workflow: Workflow,
    catalog: Catalog | None = None,
    *,
    runs: int = 1,
    prepend: bool = False,
    board: str | None = None,
    origin: str = "workflows",
    destination: str = "gallery",
) -> dict[str, Any]:
    """The ``POST /api/v1/queue/{queue}/enqueue_batch`` body for ``workflow``."""
    if runs < 1:
        raise ValueError(f"runs must be at least 1, not {runs}")
    batch = {
        "graph": build_graph(workflow, catalog, board=board),
        "workflow": workflow_for_batch(workflow),
        "runs": runs,
        "origin": origin,
        "destination": destination,
        "data": build_batch_data(workflow),
    }
    return {"batch": batch, "prepend": prepend}
