"""Can a server run a workflow: its node types and versions, and the models it names. Pure.

``ivkgen check`` prints these findings; the server pool uses them to send work only to servers
that can run it. A server's node types and versions come from its schema
(``ServerSchema.versions``), its models from the model list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ivkgen.runtime._jobs.resolve import find_model, model_fields
from ivkgen.runtime._server.dto import ModelConfig
from ivkgen.runtime._workflow.catalog import Catalog
from ivkgen.runtime._workflow.definition import WorkflowDefinition


@dataclass(frozen=True)
class Finding:
    """One problem (``error``) or remark (``warning``) about the workflow on a server."""

    severity: Literal["error", "warning"]
    message: str


def _version(text: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        return None


def node_findings(
    definition: WorkflowDefinition, versions: Mapping[str, str], labels: Mapping[str, str]
) -> list[Finding]:
    """Node types the server does not know, and nodes saved with another version of their type
    (``versions``: the server's node type -> version; ``labels``: node id -> title)."""
    found: list[Finding] = []
    for node in definition.invocation_nodes():
        data = node["data"]
        node_type, saved = data["type"], str(data.get("version", ""))
        where = f"node {labels.get(node['id'], node_type)!r} ({node['id']})"
        server_version = versions.get(node_type)
        if server_version is None:
            found.append(
                Finding(
                    "error",
                    f"{where} has type {node_type!r}, which the server does not know: install "
                    "the node pack that provides it on the server, or remove the node",
                )
            )
            continue
        ours, theirs = _version(saved), _version(server_version)
        if saved == server_version or ours is None or theirs is None:
            continue
        if ours > theirs:
            found.append(
                Finding(
                    "error",
                    f"{where} is {node_type} {saved}, newer than the server's {server_version}: "
                    "update InvokeAI on the server, or rebuild the node in its workflow editor",
                )
            )
        else:
            found.append(
                Finding(
                    "warning",
                    f"{where} was saved as {node_type} {saved}; the server has "
                    f"{server_version} (the workflow editor offers to update the node)",
                )
            )
    return found


def missing_models(
    graph: Mapping[str, Any], catalog: Catalog, models: Sequence[ModelConfig]
) -> list[tuple[str, str, dict[str, Any]]]:
    """``(node id, field, value)`` of each model the graph names that is not installed."""
    return [
        (node_id, field_name, value)
        for node_id, field_name, value in model_fields(graph, catalog)
        if find_model(value, models) is None
    ]
