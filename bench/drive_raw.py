"""The floor: a minimal raw client (httpx + python-socketio) that enqueues a prepared body and
waits for the item's terminal ``queue_item_status_changed`` event; prints one JSON object.

``items URL BODY.json N``: N sequential one-item enqueues, per item the wall seconds.
``sweep URL BODY.json``: one enqueue of the body (with its batch data), wall seconds until every
item ended; ``memory URL BODY.json``: the same, canceled by batch id right after the enqueue.
Every mode reports the item ids and the process's peak RSS in MiB.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import socketio

TERMINAL = {"completed", "failed", "canceled"}


class Raw:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.AsyncClient(base_url=f"{url}/api/v1", timeout=60)
        self.sio = socketio.AsyncClient()
        self.ended: dict[int, str] = {}
        self.changed = asyncio.Event()
        self.sio.on("queue_item_status_changed", self._on_status)
        self.sio.on("queue_items_canceled", self._on_bulk_cancel)

    async def _on_status(self, data: dict[str, Any]) -> None:
        if data["status"] in TERMINAL:
            self.ended[data["item_id"]] = data["status"]
            self.changed.set()

    async def _on_bulk_cancel(self, data: dict[str, Any]) -> None:
        self.ended.update(dict.fromkeys(data["canceled_item_ids"], "canceled"))
        self.changed.set()

    async def open(self) -> None:
        await self.sio.connect(self.url, socketio_path="/ws/socket.io", transports=["websocket"])
        await self.sio.call("subscribe_queue", {"queue_id": "default"})

    async def run(self, body: dict[str, Any], cancel: bool = False) -> list[int]:
        reply = (await self.http.post("/queue/default/enqueue_batch", json=body)).raise_for_status()
        ids: list[int] = reply.json()["item_ids"]
        if cancel:
            batch_ids = {"batch_ids": [reply.json()["batch"]["batch_id"]]}
            cancel_reply = await self.http.put("/queue/default/cancel_by_batch_ids", json=batch_ids)
            cancel_reply.raise_for_status()
        while not all(i in self.ended for i in ids):
            self.changed.clear()
            await self.changed.wait()
        return ids

    async def close(self) -> None:
        await self.sio.disconnect()
        await self.http.aclose()


async def main(mode: str, url: str, body_file: str, count: int) -> dict[str, Any]:
    body = json.loads(Path(body_file).read_text())
    raw = Raw(url)
    await raw.open()
    walls, ids = [], []
    try:
        for _ in range(count if mode == "items" else 1):
            started = time.perf_counter()
            ids += await raw.run(body, cancel=mode == "memory")
            walls.append(time.perf_counter() - started)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {"walls": walls, "item_ids": ids, "peak_rss_mib": peak}
    finally:
        await raw.close()


if __name__ == "__main__":
    mode, url, body_file = sys.argv[1:4]
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    print(json.dumps(asyncio.run(main(mode, url, body_file, count))))
