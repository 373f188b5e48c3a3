"""A workflow's output nodes and the images they produced in its finished queue items. Pure.

An **output node** is a node that saves a new image (its type has an ``ImageField`` output and a
``board`` input) and is meant to be kept: ``save_image``, a node that is not intermediate, or a
node whose board input is set to a board. The images a node produced are read from the final
session: ``source_prepared_mapping[node_id]`` lists its prepared copies (several under
``iterate``), ``results[prepared_id].image.image_name`` their images.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ivkgen.runtime.media import ImageDownloader, OutputImage, safe_file_name
from ivkgen.runtime.workflow.catalog import Catalog, NodeSpec
from ivkgen.runtime.workflow.definition import WorkflowDefinition

if TYPE_CHECKING:
    from ivkgen.runtime.server.dto import SessionQueueItem

SAVE_IMAGE = "save_image"


def saves_images(spec: NodeSpec) -> bool:
    """Whether nodes of this type write a new image to the gallery when they run."""
    return "board" in spec.inputs and any(o.type == "ImageField" for o in spec.outputs.values())


@dataclass(frozen=True, slots=True)
class OutputNode:
    """A node whose images are a workflow's outputs; ``label`` is the user's title ("" if none)."""

    node_id: str
    node_type: str
    label: str

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
        if spec is None or not saves_images(spec):
            continue
        board = (data.get("inputs", {}).get("board") or {}).get("value")
        kept = spec.type == SAVE_IMAGE or not data.get("isIntermediate", True)
        if kept or isinstance(board, Mapping):
            found.append(OutputNode(node["id"], spec.type, data.get("label") or ""))
    return found


def _image_name(result: Any) -> str | None:
    if not isinstance(result, Mapping):
        return None
    image = result.get("image")
    if isinstance(image, Mapping) and isinstance(image.get("image_name"), str):
        return str(image["image_name"])
    return None


def collect_outputs(
    item: SessionQueueItem,
    nodes: Sequence[OutputNode],
    downloader: ImageDownloader | None = None,
) -> list[OutputImage]:
    """The images each output node produced in a finished queue item, in node order, then in
    the order the server prepared the node's copies; ``downloader`` lets them download."""
    session = item.session or {}
    mapping: Mapping[str, list[str]] = session.get("source_prepared_mapping") or {}
    results: Mapping[str, Any] = session.get("results") or {}
    graph_nodes: Mapping[str, Any] = (session.get("graph") or {}).get("nodes") or {}
    outputs: list[OutputImage] = []
    for output in nodes:
        node = graph_nodes.get(output.node_id) or {}
        board = node.get("board")
        for prepared in mapping.get(output.node_id, []):
            name = _image_name(results.get(prepared))
            if name is None:
                continue
            outputs.append(
                OutputImage(
                    image_name=name,
                    node_id=output.node_id,
                    node_label=output.title,
                    node_type=output.node_type,
                    prepared_node_id=prepared,
                    board_id=board.get("board_id") if isinstance(board, Mapping) else None,
                    item_id=item.item_id,
                    session_id=item.session_id,
                    downloader=downloader,
                )
            )
    return outputs


def outputs_of(
    items: Sequence[SessionQueueItem],
    nodes: Sequence[OutputNode],
    downloader: ImageDownloader | None = None,
) -> list[OutputImage]:
    """The images the output nodes produced in finished queue items, item by item."""
    return [image for item in items for image in collect_outputs(item, nodes, downloader)]


def created_image_names(item: SessionQueueItem, catalog: Catalog) -> list[str]:
    """Every image a queue item's nodes saved (outputs and intermediates), by prepared node.

    Nodes that only pass an image through (``image``, collections) are left out. A node whose
    output came from the server's node cache reports an image an earlier session made: check the
    image's ``session_id`` before deleting it.
    """
    session = item.session or {}
    results: Mapping[str, Any] = session.get("results") or {}
    prepared_nodes: Mapping[str, Any] = (session.get("execution_graph") or {}).get("nodes") or {}
    names: list[str] = []
    for prepared, result in results.items():
        node_type = str((prepared_nodes.get(prepared) or {}).get("type", ""))
        spec = catalog.nodes.get(node_type)
        name = _image_name(result)
        if name is not None and spec is not None and saves_images(spec) and name not in names:
            names.append(name)
    return names


__all__ = [
    "OutputImage",
    "OutputNode",
    "collect_outputs",
    "created_image_names",
    "output_nodes",
    "outputs_of",
    "safe_file_name",
    "saves_images",
]
