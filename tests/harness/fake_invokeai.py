"""A simulated InvokeAI server behind ``httpx.MockTransport``, the one fake of the unit tier:
the queue, models, images and the OpenAPI node list of 6.14, and with ``version="7.0.0"`` the
7.0 routes ivkgen uses (:mod:`tests.harness.fake_v7`: enqueue receipts, the library's
revisions, sign-in).

Items run ``devices`` at a time for ``duration`` seconds of a clock the test owns (``clock``),
in queue order; a completed item's session names one image per node that saves images. The
server keeps every request it answered (``requests``) and can be made to fail: ``down`` refuses
connections, ``reset_enqueues`` drops the connection of that many enqueues before reading them,
``lose_enqueue_answers`` enqueues and then drops the answer, ``reject_enqueues`` refuses every
enqueue with a 422 of that message, ``fail_node`` fails every item whose graph has that node.
``summaries=False`` makes it a server older than 6.14, without ``item_summaries_by_ids``;
``schema`` replaces the simulated OpenAPI document (e.g. by the bundled real one).
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

from tests.harness.fake_records import QUEUE, FakeItem, image_dto, openapi, openapi_7
from tests.harness.fake_v7 import InvokeAI7Routes

_OUTPUT_TYPES = ("save_image", "blank_image", "img_blur", "img_resize", "img_crop")


@dataclass
class FakeInvokeAI(InvokeAI7Routes):
    """One simulated server; ``transport()`` is its ``httpx.MockTransport``. On 7.0, ``users``
    maps email -> password (``multiuser`` without users: setup required)."""

    name: str
    clock: Callable[[], float]
    version: str = "6.14.2"
    devices: int = 1
    duration: float = 1.0
    max_queue_size: int = 10000
    models: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False
    reset_enqueues: int = 0
    lose_enqueue_answers: int = 0
    reject_enqueues: str | None = None
    fail_node: str | None = None
    summaries: bool = True
    schema: bytes | None = None
    boards: list[dict[str, Any]] = field(default_factory=list)
    last_enqueued: dict[str, Any] | None = None
    """The body of the last enqueue request the server read (only the last: a benchmark's
    simulated servers read thousands)."""
    items: dict[int, FakeItem] = field(default_factory=dict)
    images: set[str] = field(default_factory=set)
    uploads: dict[str, bytes] = field(default_factory=dict)
    """Every image uploaded (name -> the request's body), deleted or not."""
    graphs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Every distinct graph enqueued, once (by its JSON text); items share them."""
    requests: list[str] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)
    """The ``Authorization`` header of every request, in order."""
    busy_seconds: float = 0.0
    running: list[FakeItem] = field(default_factory=list)
    pending: deque[FakeItem] = field(default_factory=deque)
    idle_since: float | None = 0.0
    gaps: list[tuple[float, float]] = field(default_factory=list)
    """Spans in which every device was idle, ended by an item starting."""
    last_enqueue: float = 0.0
    chunks: list[int] = field(default_factory=list)
    """How many items each enqueue asked for."""
    multiuser: bool = False
    users: dict[str, str] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    refresh_next: bool = False
    """7.0: the next answer carries ``X-Refreshed-Token``."""
    forbid: str | None = None
    """7.0: every route past sign-in is refused with 403 and this detail (admins only)."""
    receipts: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    acknowledged: list[str] = field(default_factory=list)
    workflows: dict[str, dict[str, Any]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _token_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def v7(self) -> bool:
        return int(self.version.split(".")[0]) >= 7

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
        self.authorizations.append(request.headers.get("authorization"))
        if self.v7:
            return self.handle_7(request)
        return self.handle_6(request)

    def handle_6(self, request: httpx.Request) -> httpx.Response:
        """The routes 6.14 and 7.0 share."""
        self.advance()
        path, method = request.url.path, request.method
        self.requests.append(f"{method} {path}")
        is_json = request.headers.get("content-type") == "application/json"
        body = json.loads(request.content) if is_json else None
        if path == "/openapi.json" and self.schema is not None:
            return httpx.Response(200, content=self.schema)
        if path == "/openapi.json":
            document = openapi_7() if self.v7 else openapi(self.summaries)
            return httpx.Response(200, json=document)
        if path == "/api/v1/app/version":
            return httpx.Response(200, json={"version": self.version})
        if path == "/api/v1/boards/":
            return httpx.Response(200, json=self.boards)
        if path == "/api/v2/models/":
            return httpx.Response(200, json={"models": self.models})
        if path == f"{QUEUE}/enqueue_batch":
            self.reset_if_due(request)
            if self.reject_enqueues is not None:
                detail = [{"loc": ["body", "batch"], "msg": self.reject_enqueues, "type": "value"}]
                return httpx.Response(422, json={"detail": detail})
            self.last_enqueued = body
            result = self._enqueue(body["batch"])
            if self.lose_enqueue_answers:
                self.lose_enqueue_answers -= 1
                raise httpx.ReadTimeout("answer lost", request=request)
            return httpx.Response(200, json=result)
        if path == f"{QUEUE}/status":
            return httpx.Response(200, json=self._status())
        if path == f"{QUEUE}/items_by_ids":
            found = [self.items[i].as_json() for i in body["item_ids"] if i in self.items]
            return httpx.Response(200, json=found)
        if path == f"{QUEUE}/item_summaries_by_ids" and self.summaries:
            found = [self.items[i].summary() for i in body["item_ids"] if i in self.items]
            return httpx.Response(200, json=found)
        if path == f"{QUEUE}/item_ids":
            descending = request.url.params.get("order_dir", "DESC") == "DESC"
            ids = sorted(self.items, reverse=descending)
            return httpx.Response(200, json={"item_ids": ids, "total_count": len(ids)})
        if path == f"{QUEUE}/list_all":
            wanted = request.url.params.get("destination")
            found = [i.as_json() for i in self.items.values() if wanted in (None, i.destination)]
            return httpx.Response(200, json=found)
        if path == f"{QUEUE}/cancel_by_batch_ids":
            canceled = 0
            for item in self.items.values():
                if item.batch_id in body["batch_ids"] and item.status in ("pending", "in_progress"):
                    item.status, canceled = "canceled", canceled + 1
            return httpx.Response(200, json={"canceled": canceled})
        match = re.fullmatch(f"{QUEUE}/i/(\\d+)(/cancel)?", path)
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
                return httpx.Response(200, json=image_dto(name))
            return httpx.Response(200, content=b"\x89PNG " + name.encode())
        if path == "/api/v1/images/upload":
            name = f"{self.name}-upload-{len(self.uploads)}.png"
            self.images.add(name)
            self.uploads[name] = request.content
            return httpx.Response(201, json=image_dto(name))
        return httpx.Response(404, json={"detail": f"fake server has no {method} {path}"})

    def reset_if_due(self, request: httpx.Request) -> None:
        """Drop the connection before the batch is read, if ``reset_enqueues`` says so."""
        if self.reset_enqueues:
            self.reset_enqueues -= 1
            raise httpx.RemoteProtocolError("connection reset", request=request)

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
        graph = self.graphs.setdefault(text, json.loads(text))  # one copy per distinct graph
        batch["graph"] = graph  # ``last_enqueued`` keeps the shared copy too
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


class VirtualClock:
    """Seconds that pass only when someone sleeps, and ``tick`` seconds at each reading (the
    server reads it once per request: items then progress as a client polls)."""

    def __init__(self, tick: float = 0.0) -> None:
        self.now = 0.0
        self.tick = tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
