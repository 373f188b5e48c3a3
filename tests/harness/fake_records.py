"""The JSON a fake InvokeAI answers with (:mod:`tests.harness.fake_invokeai`): queue items,
image records, library records and the OpenAPI documents of 6.14 and of 7.0."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from ivkgen.runtime._workflow.catalog import default_catalog

QUEUE = "/api/v1/queue/default"
SUMMARIES = "/api/v1/queue/{queue_id}/item_summaries_by_ids"
RECEIPT = "/api/v1/queue/{queue_id}/enqueue_batch/receipt"
ACKNOWLEDGE = "/api/v1/queue/{queue_id}/enqueue_batch/acknowledge"


@cache
def openapi(summaries: bool = True) -> dict[str, Any]:
    """A 6.14 document: the bundled catalog's node types and versions, and (``summaries``)
    the ``item_summaries_by_ids`` route older servers lack. Shared: do not change it."""
    schemas = {
        f"{t}Invocation": {
            "class": "invocation",
            "version": spec.version,
            "properties": {"type": {"const": t}},
        }
        for t, spec in default_catalog().nodes.items()
    }
    paths = {SUMMARIES: {"post": {}}} if summaries else {}
    return {"paths": paths, "components": {"schemas": schemas}}


def openapi_7() -> dict[str, Any]:
    """The 6.14 document with the 7.0 receipt routes and ``Batch.idempotency_key``."""
    document = openapi()
    paths = {**document["paths"], RECEIPT: {"get": {}}, ACKNOWLEDGE: {"post": {}}}
    batch = {"properties": {"graph": {}, "idempotency_key": {"type": "string"}}}
    schemas = {**document["components"]["schemas"], "Batch": batch}
    return {"paths": paths, "components": {"schemas": schemas}}


@dataclass(slots=True)
class FakeItem:
    """One queue item, kept small (a benchmark's simulated servers share the client's process):
    items enqueued with the same graph share it, and the session is built when read."""

    item_id: int
    batch_id: str
    origin: str | None
    destination: str | None
    session_id: str
    graph: dict[str, Any]
    """The enqueued graph, before this item's values are substituted (shared, never changed)."""
    values: tuple[tuple[str, str, Any], ...]
    """This item's ``(node_path, field_name, value)`` substitutions."""
    status: str = "pending"
    started: float | None = None
    outputs: tuple[tuple[str, str, str, str], ...] | None = None
    """Once completed: ``(node_id, prepared_id, image_name, node_type)`` per saved image."""

    @property
    def field_values(self) -> list[dict[str, Any]]:
        return [{"node_path": n, "field_name": f, "value": v} for n, f, v in self.values]

    @property
    def session(self) -> dict[str, Any]:
        """The session as the server stores it (the graph after substitution, and once
        completed the results and the source/prepared mappings)."""
        nodes = {node_id: dict(node) for node_id, node in self.graph["nodes"].items()}
        for node_id, field_name, value in self.values:
            nodes[node_id][field_name] = value
        session: dict[str, Any] = {"id": self.session_id, "graph": {**self.graph, "nodes": nodes}}
        if self.outputs is not None:
            session["source_prepared_mapping"] = {n: [pid] for n, pid, _, _ in self.outputs}
            session["results"] = {
                pid: {"type": "image_output", "image": {"image_name": name}}
                for _, pid, name, _ in self.outputs
            }
            session["execution_graph"] = {
                "nodes": {pid: {"type": t} for _, pid, _, t in self.outputs}
            }
        return session

    def as_json(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "status": self.status,
            "status_sequence": 0,
            "priority": 0,
            "batch_id": self.batch_id,
            "queue_id": "default",
            "session_id": self.session_id,
            "origin": self.origin,
            "destination": self.destination,
            "created_at": "2025-01-01T00:00:00",
            "updated_at": "2025-01-01T00:00:00",
            "field_values": self.field_values,
            "session": self.session,
        }

    def summary(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "status": self.status,
            "batch_id": self.batch_id,
            "origin": self.origin,
            "destination": self.destination,
            "created_at": "2025-01-01T00:00:00",
            "started_at": None,
            "completed_at": None,
            "user_id": "system",
            "user_display_name": None,
            "user_email": None,
            "field_values": self.field_values,
            "parent_item_id": None,
        }


def image_dto(name: str) -> dict[str, Any]:
    return {
        "image_name": name,
        "image_url": f"api/v1/images/i/{name}/full",
        "thumbnail_url": f"api/v1/images/i/{name}/thumbnail",
        "image_origin": "external",
        "image_category": "user",
        "width": 8,
        "height": 8,
        "created_at": "2025-01-01T00:00:00",
        "updated_at": "2025-01-01T00:00:00",
        "is_intermediate": False,
        "starred": False,
        "has_workflow": False,
    }


def library_record(workflow_id: str, workflow: dict[str, Any], revision: int) -> dict[str, Any]:
    return {
        "workflow_id": workflow_id,
        "name": workflow.get("name", ""),
        "created_at": "2026-12-01T00:00:00",
        "updated_at": "2026-12-01T00:00:00",
        "workflow": {**workflow, "id": workflow_id},
        "revision": revision,
    }
