"""Drift: how the server a workflow runs on differs from the schema its module was generated for.

A generated module carries the node catalog of one OpenAPI schema (its fields package). Before a
run, :func:`drift_plan` reads the server's schema (``ServerSchema``, read once per client) and
compares the nodes and fields the workflow uses: a node type the server lacks or has in another
version, a field it removed or retyped, an enum value it no longer accepts. Each difference is
one line of a :class:`SchemaDriftWarning` naming the node and the field; ``ivkgen check MODULE
--server URL`` lists the same lines.
"""

from __future__ import annotations

import warnings
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ivkgen.runtime._errors import SchemaDriftWarning
from ivkgen.runtime._server.features import ServerSchema, schema_call
from ivkgen.runtime._workflow.catalog import Catalog, NodeSpec

if TYPE_CHECKING:
    from ivkgen.runtime._server.core import Call
    from ivkgen.runtime._workflow.definition import WorkflowDefinition


@dataclass(frozen=True)
class Drift:
    """One difference that matters to the workflow."""

    node_id: str
    node_type: str
    field: str | None
    problem: str

    def __str__(self) -> str:
        where = f"node {self.node_id} ({self.node_type})"
        return (
            f"{where}, field {self.field}: {self.problem}"
            if self.field
            else f"{where}: {self.problem}"
        )


def _field_drift(node: dict[str, Any], ours: NodeSpec, theirs: NodeSpec) -> list[Drift]:
    found = []
    for name in node["data"].get("inputs", {}):
        mine, server = ours.inputs.get(name), theirs.inputs.get(name)
        if mine is None:
            continue
        problem = None
        if server is None:
            problem = "the server's node has no such field any more"
        elif (mine.type, mine.ivk_class) != (server.type, server.ivk_class):
            problem = f"retyped from {mine.type} to {server.type} on the server"
        elif mine.choices is not None and server.choices is not None:
            gone = [choice for choice in mine.choices if choice not in server.choices]
            if gone:
                problem = f"the server no longer accepts {', '.join(map(repr, gone))}"
        if problem:
            found.append(Drift(node["id"], ours.type, name, problem))
    return found


def compare(
    definition: WorkflowDefinition, ours: Catalog, theirs: Mapping[str, NodeSpec]
) -> list[Drift]:
    """Where the server's catalog ``theirs`` differs from ``ours`` for this workflow's nodes and
    the fields they set."""
    found: list[Drift] = []
    for node in definition.invocation_nodes():
        node_type = node["data"]["type"]
        mine, server = ours.nodes.get(node_type), theirs.get(node_type)
        if mine is None:
            continue
        if server is None:
            found.append(Drift(node["id"], node_type, None, "the server has no such node type"))
            continue
        if mine.version != server.version:
            problem = f"version {mine.version} when generated, {server.version} on the server"
            found.append(Drift(node["id"], node_type, None, problem))
        found += _field_drift(node, mine, server)
    return found


def drift_plan(
    module: str, definition: WorkflowDefinition, ours: Catalog
) -> Generator[Call[Any], Any, list[Drift]]:
    """Read the server's schema and warn (:class:`SchemaDriftWarning`) when it differs from
    ``ours`` for this workflow; returns the differences."""
    schema: ServerSchema = yield schema_call()
    if schema.sha256 == ours.openapi_sha256:
        return []
    drift = compare(definition, ours, schema.nodes)
    if drift:
        lines = "\n".join(f"  {item}" for item in drift)
        warnings.warn(
            f"{module} was generated for InvokeAI {ours.invokeai_version}'s schema and the "
            f"server's differs where the workflow uses it:\n{lines}\nregenerate the module "
            "against the server (`ivkgen regen FOLDER --server URL`)",
            SchemaDriftWarning,
            stacklevel=2,
        )
    return drift
