"""A simulated InvokeAI server behind ``httpx.MockTransport``: just the queue, models, images
and the OpenAPI node list a pool run uses.

Items run ``devices`` at a time for ``duration`` seconds of a clock the test owns (``clock``),
in queue order; a completed item's session names one image per node that saves images. The
server keeps every request it answered (``requests``) and can be made to fail: ``down`` refuses
connections, ``lose_enqueue_answers`` enqueues and then drops the answer. ``summaries=False``
makes it a server older than 6.14, without ``item_summaries_by_ids``.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from ivkgen.runtime.workflow.catalog import default_catalog

_OUTPUT_TYPES = ("save_image", "blank_image", "img_blur", "img_resize", "img_crop")


SUMMARIES = "/api/v1/queue/{queue_id}/item_summaries_by_ids"


def _openapi() -> dict[str, Any]:
    schemas = {
        f"{t}Invocation": {
            "class": "invocation",
            "version": spec.version,
            "properties": {"type": {"const": t}},
        }
        for t, spec in default_catalog().nodes.items()
    }
    return {"paths": {SUMMARIES: {"post": {}}}, "components": {"schemas": schemas}}


_OPENAPI: dict[str, Any] | None = None
_OLD_OPENAPI: dict[str, Any] | None = None


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


@dataclass
class FakeServer:
    """One simulated server; ``transport()`` is its ``httpx.MockTransport``."""

    name: str
    clock: Callable[[], float]
    devices: int = 1
    duration: float = 1.0
    max_queue_size: int = 10000
    models: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False
    lose_enqueue_answers: int = 0
    fail_node: str | None = None
    summaries: bool = True
    items: dict[int, FakeItem] = field(default_factory=dict)
    images: set[str] = field(default_factory=set)
    uploads: dict[str, bytes] = field(default_factory=dict)
    """Every image uploaded (name -> the request's body), deleted or not."""
    requests: list[str] = field(default_factory=list)
    busy_seconds: float = 0.0
    running: list[FakeItem] = field(default_factory=list)
    pending: deque[FakeItem] = field(default_factory=deque)
    idle_since: float | None = 0.0
    gaps: list[tuple[float, float]] = field(default_factory=list)
    """Spans in which every device was idle, ended by an item starting."""
    last_enqueue: float = 0.0
    chunks: list[int] = field(default_factory=list)
    """How many items each enqueue asked for."""
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _graphs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    # Simulation ------------------------------------------------------------------------------

    def advance(self) -> None:
        """Run items up to the clock's now: ``devices`` at a time, in queue order; a device
        that frees up starts the next pending item at once."""
        now = self.clock()
        while True:
            self.running = [i for i in self.running if i.status == "in_progress"]
            while self.pending and self.pending[0].status != "pending":
                self.pending.popleft()
            if len(self.running) < self.devices and self.pending:
                self._start(self.pending.popleft(), now)
                continue
            if not self.running:
                return
            first = min(self.running, key=lambda i: i.started or 0.0)
            end = (first.started or 0.0) + self.duration
            if end > now:
                return
            self._complete(first)
            self.running.remove(first)
            if self.pending:
                self._start(self.pending.popleft(), end)
            else:
                self.idle_since = end

    def _start(self, item: FakeItem, at: float) -> None:
        if not self.running and self.idle_since is not None:
            self.gaps.append((self.idle_since, at))
            self.idle_since = None
        item.status, item.started = "in_progress", at
        self.running.append(item)

    def _complete(self, item: FakeItem) -> None:
        self.busy_seconds += self.duration
        nodes = item.graph["nodes"]
        if self.fail_node is not None and self.fail_node in nodes:
            item.status = "failed"
            return
        outputs = []
        for node_id, node in nodes.items():
            if node["type"] in _OUTPUT_TYPES and node.get("is_intermediate") is False:
                pid = f"p-{item.item_id}-{len(outputs)}"
                name = f"{self.name}-{item.item_id}-{len(outputs)}.png"
                outputs.append((node_id, pid, name, str(node["type"])))
                self.images.add(name)
        item.outputs = tuple(outputs)  # tuples of strings: the garbage collector skips them
        item.status = "completed"

    # HTTP ------------------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        self.advance()
        path, method = request.url.path, request.method
        self.requests.append(f"{method} {path}")
        is_json = request.headers.get("content-type") == "application/json"
        body = json.loads(request.content) if is_json else None
        queue = "/api/v1/queue/default"
        if path == "/openapi.json":
            global _OPENAPI, _OLD_OPENAPI
            _OPENAPI = _OPENAPI or _openapi()
            _OLD_OPENAPI = _OLD_OPENAPI or {**_OPENAPI, "paths": {}}
            return httpx.Response(200, json=_OPENAPI if self.summaries else _OLD_OPENAPI)
        if path == "/api/v2/models/":
            return httpx.Response(200, json={"models": self.models})
        if path == f"{queue}/enqueue_batch":
            result = self._enqueue(body["batch"])
            if self.lose_enqueue_answers:
                self.lose_enqueue_answers -= 1
                raise httpx.ReadTimeout("answer lost", request=request)
            return httpx.Response(200, json=result)
        if path == f"{queue}/status":
            return httpx.Response(200, json=self._status())
        if path == f"{queue}/items_by_ids":
            found = [self.items[i].as_json() for i in body["item_ids"] if i in self.items]
            return httpx.Response(200, json=found)
        if path == f"{queue}/item_summaries_by_ids" and self.summaries:
            found = [self.items[i].summary() for i in body["item_ids"] if i in self.items]
            return httpx.Response(200, json=found)
        if path == f"{queue}/item_ids":
            descending = request.url.params.get("order_dir", "DESC") == "DESC"
            ids = sorted(self.items, reverse=descending)
            return httpx.Response(200, json={"item_ids": ids, "total_count": len(ids)})
        if path == f"{queue}/list_all":
            wanted = request.url.params.get("destination")
            found = [i.as_json() for i in self.items.values() if wanted in (None, i.destination)]
            return httpx.Response(200, json=found)
        if path == f"{queue}/cancel_by_batch_ids":
            canceled = 0
            for item in self.items.values():
                if item.batch_id in body["batch_ids"] and item.status in ("pending", "in_progress"):
                    item.status, canceled = "canceled", canceled + 1
            return httpx.Response(200, json={"canceled": canceled})
        match = re.fullmatch(f"{queue}/i/(\\d+)(/cancel)?", path)
        if match:
            item = self.items.get(int(match.group(1)))
            if item is None:
                return httpx.Response(404, json={"detail": "not found"})
            if method == "DELETE":
                if item.status in ("pending", "in_progress"):
                    item.status = "canceled"
                del self.items[item.item_id]
                return httpx.Response(200, json=None)
            if match.group(2) and item.status in ("pending", "in_progress"):
                item.status = "canceled"
            return httpx.Response(200, json=item.as_json())
        match = re.fullmatch("/api/v1/images/i/([^/]+)(/full)?", path)
        if match:
            name = match.group(1)
            if name not in self.images:
                return httpx.Response(404, json={"detail": "not found"})
            if method == "DELETE":
                self.images.discard(name)
                return httpx.Response(200, json={"deleted_images": [name], "affected_boards": []})
            if match.group(2) is None:
                return httpx.Response(200, json=_image_dto(name))
            return httpx.Response(200, content=b"\x89PNG " + name.encode())
        if path == "/api/v1/images/upload":
            name = f"{self.name}-upload-{len(self.uploads)}.png"
            self.images.add(name)
            self.uploads[name] = request.content
            return httpx.Response(201, json=_image_dto(name))
        return httpx.Response(404, json={"detail": f"fake server has no {method} {path}"})

    def _enqueue(self, batch: dict[str, Any]) -> dict[str, Any]:
        groups = batch.get("data") or []
        combos: list[list[tuple[str, str, Any]]] = [[]]
        for group in groups:
            zipped = [
                [(d["node_path"], d["field_name"], d["items"][k]) for d in group]
                for k in range(len(group[0]["items"]))
            ]
            combos = [c + z for c in combos for z in zipped]
        combos = combos * batch.get("runs", 1)
        unfinished = [*self.pending, *self.running]
        room = self.max_queue_size - sum(i.status in ("pending", "in_progress") for i in unfinished)
        made = []
        text = json.dumps(batch["graph"], sort_keys=True)
        graph = self._graphs.setdefault(text, json.loads(text))  # one copy per distinct graph
        for values in combos[: max(0, room)]:
            item_id = next(self._ids)
            self.items[item_id] = FakeItem(
                item_id,
                batch["batch_id"],
                batch.get("origin"),
                batch.get("destination"),
                f"s-{self.name}-{item_id}",
                graph,
                tuple(values),
            )
            self.pending.append(self.items[item_id])
            made.append(item_id)
        self.last_enqueue = self.clock()
        self.chunks.append(len(combos))
        return {
            "queue_id": "default",
            "enqueued": len(made),
            "requested": len(combos),
            "batch": {"batch_id": batch["batch_id"]},
            "priority": 0,
            "item_ids": sorted(made, reverse=True),
        }

    def _status(self) -> dict[str, Any]:
        counts = {s: 0 for s in ("pending", "in_progress", "completed", "failed", "canceled")}
        for item in self.items.values():
            counts[item.status] = counts.get(item.status, 0) + 1
        queue = {"queue_id": "default", **counts, "total": len(self.items)}
        processor = {"is_started": True, "is_processing": bool(self.running)}
        return {"queue": queue, "processor": processor}

    # Reading ---------------------------------------------------------------------------------

    def ran(self) -> list[FakeItem]:
        return [i for i in self.items.values() if i.status == "completed"]


def _image_dto(name: str) -> dict[str, Any]:
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


class VirtualClock:
    """Seconds that pass only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
