"""What a server can do beyond InvokeAI 6.14, read from its OpenAPI schema (a route or a schema
field it lists), never from its version number.

* ``receipts``: the queue keeps an enqueue receipt per ``Batch.idempotency_key`` (InvokeAI 7.0):
  ``GET .../enqueue_batch/receipt?idempotency_key=`` answers what a batch enqueued (404: nothing),
  ``POST .../enqueue_batch/acknowledge`` lets the server forget it, and a batch sent again with
  the same key is not enqueued twice.
* ``summaries``: ``item_summaries_by_ids`` reads item statuses without sessions (6.14).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from ivkgen.runtime.server.core import Call
from ivkgen.runtime.timeouts import SCHEMA_TIMEOUT

SCHEMA_PATH = "/openapi.json"
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


def _parse(response: httpx.Response) -> ServerFeatures:
    return ServerFeatures.of(response.json())


def features_call() -> Call[ServerFeatures]:
    """The server's features, read once per client."""
    return Call("GET", SCHEMA_PATH, _parse, timeout=SCHEMA_TIMEOUT, memo="features")


__all__ = ["ServerFeatures", "features_call"]
