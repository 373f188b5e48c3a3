"""A workflow as the InvokeAI GUI exports it, loaded and saved without loss.

The top-level keys the GUI defines are typed; nodes, edges and the form stay plain JSON (the
server stores them untyped too), so every key of a file, known or not, survives ``to_dict()``.
Loading checks what the GUI checks: a supported ``meta.version``, node and edge shapes, edges
between existing nodes. Like the GUI, it loads nodes of types the node catalog does not have
(:mod:`ivkgen.runtime._workflow.blockers` names them; submission refuses them). The exports of
InvokeAI 7.0's editor load too: its ``current_image`` nodes (a view of the latest image, never
sent to the server) and its ``loop_linkage`` edges (a ``for`` node to its ``for_return`` node).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivkgen.runtime._errors import IvkgenError, WorkflowError
from ivkgen.runtime._workflow.shape import ShapeError, check_shape
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

if TYPE_CHECKING:
    from ivkgen.runtime._workflow.catalog import Catalog

FieldRef = tuple[str, str]
"""A node input of a workflow: ``(node_id, field_name)``."""

SUPPORTED_VERSIONS = ("2.0.0", "3.0.0", "4.0.0")
NODE_TYPES = ("invocation", "notes", "connector", "current_image")
EDGE_TYPES = ("default", "collapsed", "loop_linkage")
VIEW_TYPES = frozenset({"current_image"})
"""Editor views (7.0's latest-image view) the GUI never sends, saved as their own node type or
as an invocation type: not invocation nodes, whatever schema a server has."""
HANDLED_EDGE_TYPES = ("default", "loop_linkage")
"""Edge types that connect an output to an input (``collapsed`` edges are only drawn)."""


class WorkflowMeta(BaseModel):
    """``meta``: the workflow format version and the library category."""

    model_config = ConfigDict(extra="allow")

    version: str
    category: str = "user"


class FieldIdentifier(BaseModel):
    """One entry of the legacy ``exposedFields`` list."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    node_id: str = Field(alias="nodeId")
    field_name: str = Field(alias="fieldName")


class WorkflowDefinition(BaseModel):
    """A GUI workflow export. ``to_dict()`` returns exactly what was loaded (plus edits)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str | None = None
    name: str = ""
    author: str = ""
    description: str = ""
    version: str = ""
    contact: str = ""
    tags: str = ""
    notes: str = ""
    exposed_fields: list[FieldIdentifier] = Field(default_factory=list, alias="exposedFields")
    meta: WorkflowMeta
    nodes: list[dict[str, Any]] = Field(default_factory=list)
    edges: list[dict[str, Any]] = Field(default_factory=list)
    form: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _check_structure(self) -> WorkflowDefinition:
        if self.meta.version not in SUPPORTED_VERSIONS:
            raise ValueError(
                f"meta.version {self.meta.version!r} is not supported (expected one of "
                f"{', '.join(SUPPORTED_VERSIONS)}); open and re-export it in InvokeAI 6.x"
            )
        ids: set[str] = set()
        for index, node in enumerate(self.nodes):
            node_id = _check_node(index, node)
            if node_id in ids:
                raise _StructureError(f"node id {node_id!r} appears twice", node_id)
            ids.add(node_id)
        for index, edge in enumerate(self.edges):
            _check_edge(index, edge, ids)
        return self

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<dict>") -> WorkflowDefinition:
        """Validate a workflow dict (deep-copied)."""
        return cls._validated(data, source, copy.deepcopy)

    @classmethod
    def _validated(
        cls, data: Any, source: str, own: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> WorkflowDefinition:
        """Check ``data`` and validate ``own(data)`` (a copy, or the data itself when it was
        parsed here and nothing else holds it)."""
        if not isinstance(data, Mapping) or "nodes" not in data or "meta" not in data:
            raise WorkflowError(
                f"{source}: not an InvokeAI workflow (no 'nodes' or 'meta'); pass a workflow "
                "exported from the InvokeAI workflow editor",
                source=source,
            )
        _check_shape(data, source)
        try:
            definition = cls.model_validate(own(dict(data)))
        except ValidationError as exc:
            cause = _structure_error(exc)
            raise WorkflowError(
                f"{source}: {_describe(exc)}; export it again from the InvokeAI workflow editor",
                source=source,
                node_id=cause.node_id if cause else None,
                node_type=cause.node_type if cause else None,
            ) from None
        return definition

    @classmethod
    def from_file(cls, path: str | Path) -> WorkflowDefinition:
        """Load a workflow JSON file exported from the GUI (or a queue item's ``workflow``)."""
        source = str(path)
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise WorkflowError(
                f"{source}: cannot read: {exc.strerror}; check the path", source=source
            ) from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise WorkflowError(
                f"{source}: not JSON: {exc}; export it again from the InvokeAI workflow editor",
                source=source,
            ) from None
        except (ValueError, RecursionError) as exc:  # a 5,000-digit number, 5,000 levels deep
            raise WorkflowError(
                f"{source}: JSON that cannot be read ({type(exc).__name__}: {exc})", source=source
            ) from None
        return cls._validated(data, source, lambda parsed: parsed)

    def to_dict(self) -> dict[str, Any]:
        """The workflow as JSON-ready data, with every key that was loaded."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)

    def save(self, path: str | Path) -> None:
        """Write the workflow as JSON the GUI can import."""
        text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False)
        Path(path).write_text(text + "\n", encoding="utf-8")

    def invocation_nodes(self) -> Iterator[dict[str, Any]]:
        """The ``invocation`` nodes, in file order (views saved as invocations left out)."""
        return (
            node
            for node in self.nodes
            if node["type"] == "invocation" and node["data"]["type"] not in VIEW_TYPES
        )

    def node_by_id(self, node_id: str) -> dict[str, Any] | None:
        return next((node for node in self.nodes if node["id"] == node_id), None)


def _check_shape(data: Mapping[str, Any], source: str) -> None:
    """The shape checks of :mod:`.shape` (JSON types, depth, numbers), as a ``WorkflowError``."""
    try:
        check_shape(data)
    except ShapeError as exc:
        raise WorkflowError(
            f"{source}: {exc}; export it again from the InvokeAI workflow editor",
            source=source,
            node_id=exc.node_id,
            field_name=exc.field_name,
        ) from None


def node_labels(definition: WorkflowDefinition, catalog: Catalog) -> dict[str, str]:
    """Node id -> the node's title in the GUI (label, else its type's title, else its type)."""
    labels: dict[str, str] = {}
    for node in definition.invocation_nodes():
        data = node["data"]
        spec = catalog.nodes.get(data["type"])
        labels[node["id"]] = data.get("label") or (spec.title if spec else "") or data["type"]
    return labels


class _StructureError(IvkgenError, ValueError):
    """A structural problem; carries the node it is about, for ``WorkflowError``."""

    def __init__(self, message: str, node_id: str | None = None, node_type: str | None = None):
        super().__init__(message)
        self.node_id = node_id
        self.node_type = node_type


def _check_node(index: int, node: Any) -> str:
    if not isinstance(node, dict) or not isinstance(node.get("id"), str) or not node["id"]:
        raise _StructureError(f"nodes[{index}] has no string 'id'")
    node_id: str = node["id"]
    node_type = node.get("type")
    if node_type not in NODE_TYPES:
        raise _StructureError(f"node {node_id!r} has unknown node type {node_type!r}", node_id)
    data = node.get("data")
    if not isinstance(data, dict):
        raise _StructureError(f"node {node_id!r} ({node_type}) has no 'data' object", node_id)
    if node_type == "invocation":
        if not isinstance(data.get("type"), str) or not data["type"]:
            raise _StructureError(f"invocation node {node_id!r} has no invocation type", node_id)
        inputs = data.get("inputs")
        if not isinstance(inputs, dict) or not all(isinstance(i, dict) for i in inputs.values()):
            raise _StructureError(
                f"node {node_id!r} ({data['type']}) has no valid 'inputs' map",
                node_id,
                data["type"],
            )
    return node_id


def _check_edge(index: int, edge: Any, node_ids: set[str]) -> None:
    if not isinstance(edge, dict):
        raise ValueError(f"edges[{index}] is not an object")
    name = edge.get("id", f"edges[{index}]")
    if edge.get("type") not in EDGE_TYPES:
        raise ValueError(f"edge {name!r} has unknown edge type {edge.get('type')!r}")
    for end in ("source", "target"):
        node_id = edge.get(end)
        if node_id not in node_ids:
            raise _StructureError(
                f"edge {name!r} has {end} {node_id!r}, which is not a node of the workflow",
                node_id if isinstance(node_id, str) else None,
            )
    if edge["type"] in HANDLED_EDGE_TYPES:
        for handle in ("sourceHandle", "targetHandle"):
            if not isinstance(edge.get(handle), str):
                raise ValueError(f"edge {name!r} has no {handle}")


def _describe(exc: ValidationError) -> str:
    """One readable line per pydantic error, with the JSON location."""
    parts = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts)


def _structure_error(exc: ValidationError) -> _StructureError | None:
    for error in exc.errors():
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, _StructureError):
            return cause
    return None
