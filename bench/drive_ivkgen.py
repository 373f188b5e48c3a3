"""Drive the ivkgen runtime against a server in a process of its own; prints one JSON object.

``items URL WORKFLOW N events|poll``: N sequential one-item runs, wall seconds each: ``submit`` +
``wait_for_completion`` (the client's shared event socket), or ``submit_sync`` +
``wait_for_completion_sync``; also the HTTP requests they sent.
``batch URL WORKFLOW LABEL N``: one enqueue sweeping input LABEL over N values, then the wait.
``each URL WORKFLOW LABEL N``: N submissions (one value each), then the waits.
``memory URL WORKFLOW LABEL N``: like ``batch``, canceled right after the enqueue; peak RSS.
Every mode reports the item ids and the process's peak RSS in MiB.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from typing import Any

import httpx
from ivkgen.runtime import (
    AsyncInvokeAIClient,
    InvokeAIClient,
    JobCanceledError,
    WorkflowDefinition,
    WorkflowHandle,
)


def _value(index: int) -> str:
    return f"subject {index}"


class CountingTransport(httpx.HTTPTransport):
    """Counts the requests it sends."""

    requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return super().handle_request(request)


class AsyncCountingTransport(httpx.AsyncHTTPTransport):
    """Counts the requests it sends."""

    requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return await super().handle_async_request(request)


def items_polling(url: str, definition: WorkflowDefinition, count: int) -> dict[str, Any]:
    walls, ids = [], []
    transport = CountingTransport()
    with InvokeAIClient.from_url(url, transport=transport) as client:
        handle = WorkflowHandle(definition).bind_client(client)
        for _ in range(count):
            started = time.perf_counter()
            result = handle.submit_sync()
            handle.wait_for_completion_sync()
            walls.append(time.perf_counter() - started)
            ids += result.item_ids
    return {"walls": walls, "item_ids": ids, "requests": transport.requests}


async def items_events(url: str, definition: WorkflowDefinition, count: int) -> dict[str, Any]:
    walls, ids = [], []
    transport = AsyncCountingTransport()
    async with AsyncInvokeAIClient.from_url(url, transport=transport) as client:
        handle = WorkflowHandle(definition).bind_client(client)
        for _ in range(count):
            started = time.perf_counter()
            result = await handle.submit()
            await handle.wait_for_completion()
            walls.append(time.perf_counter() - started)
            ids += result.item_ids
    return {"walls": walls, "item_ids": ids, "requests": transport.requests}


async def batch(
    url: str, definition: WorkflowDefinition, label: str, count: int, cancel: bool = False
) -> dict[str, Any]:
    async with AsyncInvokeAIClient.from_url(url) as client:
        handle = WorkflowHandle(definition).bind_client(client)
        started = time.perf_counter()
        result = await handle.submit(sweep={label: [_value(i) for i in range(count)]})
        if cancel:
            await client.queue_repo.cancel_by_batch_ids([result.batch_id])
        try:
            await handle.wait_for_completion(timeout=3600)
        except JobCanceledError:
            if not cancel:
                raise
        wall = time.perf_counter() - started
    return {"walls": [wall], "item_ids": result.item_ids}


async def each(url: str, definition: WorkflowDefinition, label: str, count: int) -> dict[str, Any]:
    async with AsyncInvokeAIClient.from_url(url) as client:
        started = time.perf_counter()
        handles, ids = [], []
        for index in range(count):
            handle = WorkflowHandle(definition).bind_client(client)
            handle.find_input(label).field.value = _value(index)  # type: ignore[attr-defined]
            ids += (await handle.submit()).item_ids
            handles.append(handle)
        for handle in handles:
            await handle.wait_for_completion(timeout=3600)
        wall = time.perf_counter() - started
    return {"walls": [wall], "item_ids": ids}


def run(mode: str, url: str, workflow: str, args: list[str]) -> dict[str, Any]:
    definition = WorkflowDefinition.from_file(workflow)
    if mode == "items":
        count, tracking = int(args[0]), args[1]
        if tracking == "poll":
            return items_polling(url, definition, count)
        return asyncio.run(items_events(url, definition, count))
    label, count = args[0], int(args[1])
    if mode == "each":
        return asyncio.run(each(url, definition, label, count))
    return asyncio.run(batch(url, definition, label, count, cancel=mode == "memory"))


def main(argv: list[str]) -> None:
    result = run(argv[0], argv[1], argv[2], argv[3:])
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
