"""A server's OpenAPI schema, fetched once per client (:func:`schema_call`), and what the runtime
reads of it: its hash, its node types' versions and catalog, and what the server can do beyond
InvokeAI 6.14 (a route or a schema field it lists, never its version number):

* ``receipts``: the queue keeps an enqueue receipt per ``Batch.idempotency_key`` (InvokeAI 7.0):
  ``GET .../enqueue_batch/receipt?idempotency_key=`` answers what a batch enqueued (404: nothing),
  ``POST .../enqueue_batch/acknowledge`` lets the server forget it, and a batch sent again with
  the same key is not enqueued twice.
* ``summaries``: ``item_summaries_by_ids`` reads item statuses without sessions (6.14).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import httpx
from ivkgen.runtime._server.core import Call
from ivkgen.runtime._timeouts import SCHEMA_TIMEOUT
from ivkgen.runtime._workflow.catalog import NodeSpec
from ivkgen.runtime._workflow.schema import node_specs

SCHEMA_PATH = "/openapi.json"
"""A server builds its schema on the first request for it: tens of seconds on a busy machine
(hence ``SCHEMA_TIMEOUT``)."""
RECEIPT_PATH = "/api/v1/queue/{queue_id}/enqueue_batch/receipt"
ACKNOWLEDGE_PATH = "/api/v1/queue/{queue_id}/enqueue_batch/acknowledge"
SUMMARIES_PATH = "/api/v1/queue/{queue_id}/item_summaries_by_ids"


@dataclass(frozen=True)
class ServerFeatures:
    """The optional routes a server's schema lists (see the module docstring)."""

    receipts: bool = False
    summaries: bool = False

    @classmethod
    def of(cls, openapi: Any) -> ServerFeatures:
        """The features an OpenAPI document describes (none for anything else)."""
        paths = openapi.get("paths") if isinstance(openapi, Mapping) else None
        if not isinstance(paths, Mapping):
            return cls()
        schemas = (openapi.get("components") or {}).get("schemas") or {}
        batch = schemas.get("Batch") if isinstance(schemas, Mapping) else None
        keyed = isinstance(batch, Mapping) and "idempotency_key" in (batch.get("properties") or {})
        receipts = keyed and RECEIPT_PATH in paths and ACKNOWLEDGE_PATH in paths
        return cls(receipts=receipts, summaries=SUMMARIES_PATH in paths)


@dataclass(frozen=True)
class ServerSchema:
    """A server's OpenAPI schema as the runtime reads it."""

    sha256: str
    features: ServerFeatures
    schemas: Mapping[str, Any]
    """The schema's ``components.schemas``."""

    @cached_property
    def versions(self) -> dict[str, str]:
        """Node type -> version of every invocation the schema describes."""
        versions: dict[str, str] = {}
        for schema in self.schemas.values():
            if not isinstance(schema, Mapping) or schema.get("class") != "invocation":
                continue
            kind = (schema.get("properties") or {}).get("type") or {}
            node_type = kind.get("const") or kind.get("default")
            if isinstance(node_type, str):
                versions[node_type] = str(schema.get("version", ""))
        return versions

    @cached_property
    def nodes(self) -> dict[str, NodeSpec]:
        """Node type -> the node's catalog entry (built on first use: it takes a while)."""
        return {node.type: node for node in node_specs(dict(self.schemas))}


def _parse(response: httpx.Response) -> ServerSchema:
    document = response.json()
    components = document.get("components") if isinstance(document, Mapping) else None
    schemas = (components or {}).get("schemas") if isinstance(components, Mapping) else None
    return ServerSchema(
        hashlib.sha256(response.content).hexdigest(),
        ServerFeatures.of(document),
        schemas if isinstance(schemas, Mapping) else {},
    )


def schema_call() -> Call[ServerSchema]:
    """The server's schema: the one request for it, sent once per client."""
    return Call("GET", SCHEMA_PATH, _parse, timeout=SCHEMA_TIMEOUT, memo="schema")
