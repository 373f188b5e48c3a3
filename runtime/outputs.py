"""A workflow's output nodes and the images they produced.

An output node is an executable invocation node that produces an image and is not intermediate
(``save_image``, ``l2i`` with ``isIntermediate`` off, any image node saving to the gallery).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from runtime.catalog import Catalog
from runtime.workflow import WorkflowDefinition


@dataclass(frozen=True, slots=True)
class OutputNode:
    """A node whose images are a workflow's outputs."""

    node_id: str
    node_type: str
    label: str


class OutputImage(BaseModel):
    """One image an output node produced."""

    model_config = ConfigDict(frozen=True)

    image_name: str
    node_id: str
    node_label: str
    board_id: str | None = None


def output_nodes(definition: WorkflowDefinition, catalog: Catalog) -> list[OutputNode]:
    """The output nodes of ``definition`` in workflow order."""
    found = []
    for node in definition.nodes:
        data = node.get("data") or {}
        spec = catalog.nodes.get(data.get("type", "")) if node.get("type") == "invocation" else None
        if spec is None or data.get("isIntermediate", True):
            continue
        if any(output.type == "ImageField" for output in spec.outputs.values()):
            found.append(OutputNode(node["id"], spec.type, data.get("label") or ""))
    return found
