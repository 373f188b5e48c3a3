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
* only ``default`` edges and ``loop_linkage`` edges (InvokeAI 7.0's link of a ``for`` node to
  its ``for_return`` node, sent with ``"type": "loop_linkage"``) count; an edge from a connector
  is rewritten to the invocation output feeding the connector chain; edges touching dropped
  nodes (notes, connectors, 7.0's ``current_image`` views) go; duplicates go; every input with a
  kept incoming edge loses its value;
* batch nodes become ``Batch.data``: their items (or their generator's items) are zipped within a
  batch group and combined as a cartesian product across groups; group ``"None"`` gives each
  batch node its own list.
"""

from __future__ import annotations

import copy
import functools
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from ivkgen.runtime._errors import WorkflowError
from ivkgen.runtime._workflow.batches import (
    BATCH_FIELDS,
    GENERATOR_TYPES,
    Workflow,
    build_batch_data,
    resolve_source,
)
from ivkgen.runtime._workflow.catalog import Catalog, default_catalog
from ivkgen.runtime._workflow.definition import HANDLED_EDGE_TYPES, VIEW_TYPES, FieldRef

EXTRA_INPUTS_TYPES = frozenset({"core_metadata"})

WORKFLOW_KEYS: tuple[str, ...] = ("name", "author", "description", "version", "contact", "tags")
WORKFLOW_KEYS += ("notes", "exposedFields", "meta", "form")
BOARD_SENTINELS = ("auto", "none")
_OMIT = object()


def is_executable(node: Mapping[str, Any]) -> bool:
    """An invocation node the server can run (not a batch, generator or view node)."""
    if node.get("type") != "invocation":
        return False
    node_type = node["data"]["type"]
    return (
        node_type not in BATCH_FIELDS
        and node_type not in GENERATOR_TYPES
        and node_type not in VIEW_TYPES
    )


def build_graph(
    workflow: Workflow,
    catalog: Catalog | None = None,
    *,
    board: str | None = None,
    graph_id: str | None = None,
) -> dict[str, Any]:
    """The ``Graph`` the GUI builds from ``workflow`` (a ``WorkflowDefinition.to_dict()``)."""
    return Conversion(workflow, catalog).graph(board=board, graph_id=graph_id)


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
    for edge in workflow["edges"]:
        if edge["type"] not in HANDLED_EDGE_TYPES or edge["target"] not in kept:
            continue
        source = resolve_source(edge["source"], edge["sourceHandle"], nodes, default_edges)
        if source is None or source[0] not in kept:
            continue
        key = (*source, edge["target"], edge["targetHandle"])
        if key in seen:
            continue
        seen.add(key)
        graph_edge = {
            "source": {"node_id": source[0], "field": source[1]},
            "destination": {"node_id": edge["target"], "field": edge["targetHandle"]},
        }
        edges.append(
            graph_edge if edge["type"] == "default" else {"type": edge["type"], **graph_edge}
        )
    return edges


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
    if edge["type"] in HANDLED_EDGE_TYPES:
        keys += ("sourceHandle", "targetHandle", "hidden")
    return {key: edge[key] for key in keys if key in edge}


def build_enqueue_body(
    workflow: Workflow, catalog: Catalog | None = None, **options: Any
) -> dict[str, Any]:
    """The ``POST /api/v1/queue/{queue}/enqueue_batch`` body for ``workflow``; ``options`` are
    those of :meth:`Conversion.enqueue_body`."""
    return Conversion(workflow, catalog).enqueue_body(**options)


def write_value(slot: dict[str, Any], value: Any) -> None:
    """Give a workflow node input (``{"name": ..., "value": ...}``) a value; ``None`` removes it."""
    if value is None:
        slot.pop("value", None)
    else:
        slot["value"] = value


class Conversion:
    """A workflow converted once; ``enqueue_body(changes)`` applies changed input values to the
    cached conversion instead of converting the whole workflow again.

    It keeps its own copy of the workflow (``workflow_for_batch``). Each body has its own body,
    batch, graph and embedded workflow dicts, node and edge lists, graph nodes, and copies of the
    workflow nodes it changed; the rest (input values, edges, unchanged workflow nodes, the form)
    is shared with this object and between bodies: replace it rather than editing it in place.
    """

    def __init__(self, workflow: Workflow, catalog: Catalog | None = None) -> None:
        self._catalog = catalog or default_catalog()
        self._workflow = workflow_for_batch(workflow)
        nodes = self._workflow["nodes"]
        self._index = {node["id"]: index for index, node in enumerate(nodes)}
        kept = {
            node["id"]: node
            for node in nodes
            if is_executable(node) and node["data"]["type"] in self._catalog.nodes
        }
        self._edges = _graph_edges(self._workflow, kept)
        self._connected = {
            (edge["destination"]["node_id"], edge["destination"]["field"]) for edge in self._edges
        }
        self._nodes = {node_id: self._graph_node(node) for node_id, node in kept.items()}
        self._boards = [
            (node_id, name)
            for node_id, node in kept.items()
            for name, spec in self._catalog.node(node["data"]["type"]).inputs.items()
            if spec.type == "BoardField"
            and name in node["data"]["inputs"]
            and (node_id, name) not in self._connected
        ]

    @functools.cached_property
    def _data(self) -> list[list[dict[str, Any]]]:
        return build_batch_data(self._workflow)

    def graph(self, *, board: str | None = None, graph_id: str | None = None) -> dict[str, Any]:
        """The graph of the workflow as it was given."""
        return self._graph(self._workflow["nodes"], (), board, graph_id)

    def enqueue_body(
        self,
        changes: Mapping[FieldRef, Any] | None = None,
        *,
        runs: int = 1,
        prepend: bool = False,
        board: str | None = None,
        origin: str = "workflows",
        destination: str = "gallery",
    ) -> dict[str, Any]:
        """The enqueue body with ``changes``: ``(node id, input name)`` -> the input's new value
        (``None``: no value), for inputs that exist in the workflow."""
        if runs < 1:
            raise ValueError(f"runs must be at least 1, not {runs}")
        changes = changes or {}
        nodes = list(self._workflow["nodes"])
        for node_id in {node_id for node_id, _ in changes}:
            nodes[self._index[node_id]] = _node_copy(nodes[self._index[node_id]])
        for (node_id, name), value in changes.items():
            write_value(nodes[self._index[node_id]]["data"]["inputs"][name], value)
        refs = [ref for ref in changes if ref[0] in self._nodes and ref not in self._connected]
        if any(node_id not in self._nodes for node_id, _ in changes):
            data = build_batch_data({"nodes": nodes, "edges": self._workflow["edges"]})
        else:
            data = list(self._data)
        batch = {
            "graph": self._graph(nodes, refs, board, None),
            "workflow": {**self._workflow, "nodes": nodes, "edges": list(self._workflow["edges"])},
            "runs": runs,
            "origin": origin,
            "destination": destination,
            "data": data,
        }
        return {"batch": batch, "prepend": prepend}

    def _graph(
        self,
        nodes: list[dict[str, Any]],
        changed: Iterable[FieldRef],
        board: str | None,
        graph_id: str | None,
    ) -> dict[str, Any]:
        """The cached graph nodes with the board inputs and the ``changed`` inputs taken again
        from ``nodes`` (the workflow's nodes, values written)."""
        graph_nodes = {node_id: dict(node) for node_id, node in self._nodes.items()}
        for node_id, name in (*self._boards, *changed):
            data = nodes[self._index[node_id]]["data"]
            value = self._graph_value(data["type"], name, data["inputs"][name], board)
            if value is _OMIT:
                graph_nodes[node_id].pop(name, None)
            else:
                graph_nodes[node_id][name] = value
        edges = list(self._edges)
        return {"id": graph_id or str(uuid.uuid4()), "nodes": graph_nodes, "edges": edges}

    def _graph_node(self, node: Mapping[str, Any]) -> dict[str, Any]:
        """A graph node without its connected inputs (board inputs as for no ``board``)."""
        data = node["data"]
        out: dict[str, Any] = {"type": data["type"], "id": node["id"]}
        for name, slot in data["inputs"].items():
            if (node["id"], name) in self._connected:
                continue
            value = self._graph_value(data["type"], name, slot, None)
            if value is not _OMIT:
                out[name] = value
        for key, source in (("use_cache", "useCache"), ("is_intermediate", "isIntermediate")):
            if source in data:
                out[key] = data[source]
        return out

    def _graph_value(
        self, node_type: str, name: str, slot: Mapping[str, Any], board: str | None
    ) -> Any:
        """The value one input sends in the graph, or ``_OMIT``."""
        spec = self._catalog.node(node_type).inputs.get(name)
        if spec is not None and spec.type == "BoardField":
            saved = slot.get("value")
            if saved is not None and not isinstance(saved, (str, Mapping)):
                raise WorkflowError(
                    f"node of type {node_type!r}: board input {name!r} holds {saved!r:.40}, "
                    "not a board",
                    node_type=node_type,
                    field_name=name,
                )
            value = board_value(saved, board)
            return _OMIT if value is None else value
        if "value" not in slot or (spec is None and node_type not in EXTRA_INPUTS_TYPES):
            return _OMIT
        return slot["value"]


def _node_copy(node: Mapping[str, Any]) -> dict[str, Any]:
    """A workflow node with new dicts down to its inputs (values and position shared)."""
    data = dict(node["data"])
    inputs = data.get("inputs")
    if isinstance(inputs, dict):
        data["inputs"] = {name: dict(slot) for name, slot in inputs.items()}
    return {**node, "data": data}
