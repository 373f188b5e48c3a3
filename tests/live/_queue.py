"""Plain-HTTP queue helpers for the conversion tests: enqueue, read back, clean up."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import httpx

QUEUE = "/api/v1/queue/default"


@contextlib.contextmanager
def paused(http: httpx.Client) -> Iterator[None]:
    """Keep the session processor from starting items (for graphs that cannot run here)."""
    http.put(f"{QUEUE}/processor/pause").raise_for_status()
    try:
        yield
    finally:
        http.put(f"{QUEUE}/processor/resume").raise_for_status()


def enqueue(http: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return http.post(f"{QUEUE}/enqueue_batch", json=body)


def item(http: httpx.Client, item_id: int) -> dict[str, Any]:
    data: dict[str, Any] = http.get(f"{QUEUE}/i/{item_id}").raise_for_status().json()
    return data


def discard(http: httpx.Client, item_ids: list[int]) -> None:
    """Cancel and delete queue items (and leave no trace of them)."""
    for item_id in item_ids:
        http.put(f"{QUEUE}/i/{item_id}/cancel")
        http.delete(f"{QUEUE}/i/{item_id}").raise_for_status()


def wait_until_ended(http: httpx.Client, item_id: int, timeout: float = 300.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = item(http, item_id)
        if current["status"] in ("completed", "failed", "canceled"):
            return current
        time.sleep(0.5)
    raise TimeoutError(f"queue item {item_id} did not end within {timeout} s")


def produced_images(session: dict[str, Any]) -> list[str]:
    """Names of the images a finished session's nodes produced."""
    return [
        result["image"]["image_name"]
        for result in session.get("results", {}).values()
        if isinstance(result.get("image"), dict)
    ]
