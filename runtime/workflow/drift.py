"""Drift: how the server a workflow runs on differs from the schema its module was generated for.

A generated module carries the node catalog of one OpenAPI schema (its fields package). Before a
run, :func:`warn_drift` reads the server's ``/openapi.json`` once per client, builds its catalog
(:mod:`ivkgen.runtime.workflow.schema`) and compares the nodes and fields the workflow uses: a node
type the server lacks or has in another version, a field it removed or retyped, an enum value it
no longer accepts. Each difference is one line of a :class:`SchemaDriftWarning` naming the node and
the field; ``ivkgen check MODULE --server URL`` lists the same lines.
"""

from __future__ import annotations

import hashlib
import warnings
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from ivkgen.runtime.errors import SchemaDriftWarning
from ivkgen.runtime.server.core import Call
from ivkgen.runtime.timeouts import SCHEMA_TIMEOUT
from ivkgen.runtime.workflow.catalog import Catalog, NodeSpec
from ivkgen.runtime.workflow.schema import node_specs

if TYPE_CHECKING:
    from ivkgen.runtime.client import AsyncInvokeAIClient, InvokeAIClient
    from ivkgen.runtime.workflow.definition import WorkflowDefinition

SCHEMA_PATH = "/openapi.json"
"""A server builds its schema on the first request for it: tens of seconds on a busy machine."""


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


@dataclass(frozen=True)
class ServerSchema:
    """A server's OpenAPI schema: its hash and its node catalog."""

    sha256: str
    nodes: Mapping[str, NodeSpec]


def _parse_schema(response: httpx.Response) -> ServerSchema:
    sha256 = hashlib.sha256(response.content).hexdigest()
    data: dict[str, Any] = response.json()
    nodes = node_specs(data.get("components", {}).get("schemas", {}))
    return ServerSchema(sha256, {node.type: node for node in nodes})


def schema_call() -> Call[ServerSchema]:
    return Call("GET", SCHEMA_PATH, _parse_schema, timeout=SCHEMA_TIMEOUT)


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


def _check(
    module: str, definition: WorkflowDefinition, ours: Catalog, schema: ServerSchema
) -> list[Drift]:
    """The drift of this workflow on the server of ``schema``, warned about when there is any."""
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


_schemas: weakref.WeakKeyDictionary[Any, ServerSchema] = weakref.WeakKeyDictionary()
"""The schema of each client's server, read once."""


def warn_drift(
    module: str, definition: WorkflowDefinition, ours: Catalog, client: InvokeAIClient
) -> list[Drift]:
    """Warn (:class:`SchemaDriftWarning`) when ``client``'s server differs from ``ours`` for
    this workflow, and return the differences."""
    if client not in _schemas:
        _schemas[client] = client.execute(schema_call())
    return _check(module, definition, ours, _schemas[client])


async def awarn_drift(
    module: str, definition: WorkflowDefinition, ours: Catalog, client: AsyncInvokeAIClient
) -> list[Drift]:
    """:func:`warn_drift` for an async client."""
    if client not in _schemas:
        _schemas[client] = await client.execute(schema_call())
    return _check(module, definition, ours, _schemas[client])
