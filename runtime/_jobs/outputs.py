"""A workflow's output nodes and the images and videos they produced in a finished queue item. Pure.

An **output node** is a node that saves a new image or video (its type has an ``ImageField`` or
``VideoField`` output and a ``board`` input) and is meant to be kept: ``save_image``, a node that is
not intermediate, or a node whose board input is set to a board. What a node produced is read from
the final session: ``source_prepared_mapping[node_id]`` lists its prepared copies (several under
``iterate``), ``results[prepared_id].image.image_name`` (``.video.video_name``) their files. Items a
``call_saved_workflow`` node enqueued have no workflow of ours: their output nodes come from their
session's graph (:func:`graph_output_nodes`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ivkgen.runtime._media import Downloader, OutputImage, OutputKind, OutputVideo
from ivkgen.runtime._workflow.catalog import Catalog, NodeSpec
from ivkgen.runtime._workflow.definition import WorkflowDefinition

if TYPE_CHECKING:
    from ivkgen.runtime._jobs.tracker import JobTracker
    from ivkgen.runtime._server.dto import SessionQueueItem

SAVE_IMAGE = "save_image"
_FIELD_TYPES: dict[OutputKind, str] = {"image": "ImageField", "video": "VideoField"}


def saved_kind(spec: NodeSpec) -> OutputKind | None:
    """What nodes of this type write to the gallery when they run: an image, a video, or
    nothing (no ``board`` input, or no image or video output)."""
    if "board" not in spec.inputs:
        return None
    types = {o.type for o in spec.outputs.values()}
    return next((kind for kind, name in _FIELD_TYPES.items() if name in types), None)


@dataclass(frozen=True, slots=True)
class OutputNode:
    """A node whose images or videos are a workflow's outputs; ``label`` is the user's title
    ("" if none)."""

    node_id: str
    node_type: str
    label: str
    kind: OutputKind = "image"

    @property
    def title(self) -> str:
        """The label, else the node type."""
        return self.label or self.node_type


def output_nodes(
    definition: WorkflowDefinition | Mapping[str, Any], catalog: Catalog
) -> list[OutputNode]:
    """The output nodes of a workflow, in workflow order."""
    nodes = definition.nodes if isinstance(definition, WorkflowDefinition) else definition["nodes"]
    found: list[OutputNode] = []
    for node in nodes:
        data = node.get("data") or {}
        spec = catalog.nodes.get(data.get("type", "")) if node.get("type") == "invocation" else None
        kind = saved_kind(spec) if spec is not None else None
        if spec is None or kind is None:
            continue
        board = (data.get("inputs", {}).get("board") or {}).get("value")
        kept = spec.type == SAVE_IMAGE or not data.get("isIntermediate", True)
        if kept or isinstance(board, Mapping):
            found.append(OutputNode(node["id"], spec.type, data.get("label") or "", kind))
    return found


def graph_output_nodes(item: SessionQueueItem, catalog: Catalog) -> list[OutputNode]:
    """The output nodes of a queue item's own graph (a called workflow's), titled by type."""
    graph_nodes: Mapping[str, Any] = ((item.session or {}).get("graph") or {}).get("nodes") or {}
    found: list[OutputNode] = []
    for node_id, node in graph_nodes.items():
        spec = catalog.nodes.get(str(node.get("type", "")))
        kind = saved_kind(spec) if spec is not None else None
        if spec is None or kind is None:
            continue
        kept = spec.type == SAVE_IMAGE or not node.get("is_intermediate", False)
        if kept or isinstance(node.get("board"), Mapping):
            found.append(OutputNode(node_id, spec.type, spec.title, kind))
    return found


def _file_name(result: Any, kind: OutputKind) -> str | None:
    if not isinstance(result, Mapping):
        return None
    value = result.get(kind)
    key = f"{kind}_name"
    if isinstance(value, Mapping) and isinstance(value.get(key), str):
        return str(value[key])
    return None


def collect_files(
    item: SessionQueueItem,
    nodes: Sequence[OutputNode],
    *,
    called_by: str | None = None,
    downloader: Downloader | None = None,
) -> list[OutputImage | OutputVideo]:
    """The images and videos each output node produced in a finished queue item, in node order, then
    in the order the server prepared the node's copies; ``downloader`` lets them download."""
    session = item.session or {}
    mapping: Mapping[str, list[str]] = session.get("source_prepared_mapping") or {}
    results: Mapping[str, Any] = session.get("results") or {}
    graph_nodes: Mapping[str, Any] = (session.get("graph") or {}).get("nodes") or {}
    outputs: list[OutputImage | OutputVideo] = []
    for output in nodes:
        board = (graph_nodes.get(output.node_id) or {}).get("board")
        for prepared in mapping.get(output.node_id, []):
            name = _file_name(results.get(prepared), output.kind)
            if name is None:
                continue
            common: dict[str, Any] = {
                "node_id": output.node_id,
                "node_label": output.title,
                "node_type": output.node_type,
                "prepared_node_id": prepared,
                "board_id": board.get("board_id") if isinstance(board, Mapping) else None,
                "item_id": item.item_id,
                "session_id": item.session_id,
                "called_by": called_by,
                "downloader": downloader,
            }
            if output.kind == "video":
                outputs.append(OutputVideo(video_name=name, **common))
            else:
                outputs.append(OutputImage(image_name=name, **common))
    return outputs


def output_files(
    tracker: JobTracker,
    nodes: Sequence[OutputNode],
    catalog: Catalog,
    downloader: Downloader | None = None,
) -> list[OutputImage | OutputVideo]:
    """The files of a run's items (``nodes`` are the workflow's output nodes), then those of the
    items its call nodes enqueued (each with its own graph's output nodes)."""
    files = [
        file
        for item in tracker.queue_items()
        for file in collect_files(item, nodes, downloader=downloader)
    ]
    for called in tracker.called_items():
        own = graph_output_nodes(called.item, catalog)
        files += collect_files(called.item, own, called_by=called.called_by, downloader=downloader)
    return files


def collect_outputs(
    item: SessionQueueItem, nodes: Sequence[OutputNode], downloader: Downloader | None = None
) -> list[OutputImage]:
    """The images of :func:`collect_files`."""
    files = collect_files(item, nodes, downloader=downloader)
    return [file for file in files if isinstance(file, OutputImage)]


def created_names(item: SessionQueueItem, catalog: Catalog, kind: OutputKind) -> list[str]:
    """Every image (or video) a queue item's nodes saved (outputs and intermediates), by
    prepared node.

    Nodes that only pass a file through (``image``, ``video``, collections) are left out. A node
    whose output came from the server's node cache reports a file an earlier session made: check
    the file's ``session_id`` before deleting it.
    """
    session = item.session or {}
    results: Mapping[str, Any] = session.get("results") or {}
    prepared_nodes: Mapping[str, Any] = (session.get("execution_graph") or {}).get("nodes") or {}
    names: list[str] = []
    for prepared, result in results.items():
        node_type = str((prepared_nodes.get(prepared) or {}).get("type", ""))
        spec = catalog.nodes.get(node_type)
        name = _file_name(result, kind)
        known = spec is not None and saved_kind(spec) == kind
        if name is not None and known and name not in names:
            names.append(name)
    return names
