"""Server steps written once for sync and async use: generators of ``Call`` objects.

A *plan* yields each ``Call`` it needs and receives the parsed answer (or, thrown into it, the
error). ``drive_sync`` runs a plan with a sync client, ``drive`` with an async client or with a
sync one in a worker thread; the decisions stay in the plan.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator, Sequence
from typing import Any, TypeVar

from ivkgen.runtime.errors import NotFoundError
from ivkgen.runtime.jobs.tracker import JobTracker
from ivkgen.runtime.media import ImageDownloader
from ivkgen.runtime.repositories.images import ImageOps
from ivkgen.runtime.repositories.models import ModelOps
from ivkgen.runtime.repositories.queue import QueueOps
from ivkgen.runtime.server.core import AsyncBound, Call, SyncBound, operation
from ivkgen.runtime.server.dto import SessionQueueItem

T = TypeVar("T")
Plan = Generator[Call[Any], Any, T]

IMAGES = ImageOps()
MODELS = ModelOps()


def queue_ops(queue_id: str) -> QueueOps:
    """The queue operations of one queue, for building calls."""
    ops = QueueOps()
    ops.queue_id = queue_id
    return ops


def drive_sync(plan: Plan[T], send: Callable[[Call[Any]], Any]) -> T:
    """Run a plan, sending each call with ``send``; errors go back into the plan."""
    try:
        call = next(plan)
        while True:
            try:
                answer = send(call)
            except Exception as exc:
                call = plan.throw(exc)
                continue
            call = plan.send(answer)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


async def drive(plan: Plan[T], client: SyncBound | AsyncBound) -> T:
    """Run a plan with an async client, or with a sync client in a worker thread."""
    try:
        call = next(plan)
        while True:
            try:
                if isinstance(client, AsyncBound):
                    answer = await client.execute(call)
                else:
                    answer = await asyncio.to_thread(client.execute, call)
            except Exception as exc:
                call = plan.throw(exc)
                continue
            call = plan.send(answer)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


def poll_plan(tracker: JobTracker, item_ids: Sequence[int]) -> Plan[list[SessionQueueItem]]:
    """Read these items into the tracker; an item gone from the queue counts as canceled."""
    return _each_item(tracker, item_ids, QueueOps.get_queue_item)


def _each_item(
    tracker: JobTracker,
    item_ids: Sequence[int],
    op: operation[..., SessionQueueItem],
) -> Plan[list[SessionQueueItem]]:
    """Apply a queue-item operation ``op`` (read or cancel) to each item and feed the answers to the
    tracker; an item gone from the queue counts as canceled."""
    queue = queue_ops(tracker.queue_id)
    items: list[SessionQueueItem] = []
    for item_id in item_ids:
        try:
            item = yield op.call(queue, item_id)
        except NotFoundError:
            tracker.item_deleted(item_id)
            continue
        tracker.feed_item(item)
        items.append(item)
    return items


def settle_plan(tracker: JobTracker) -> Plan[None]:
    """Read the final session of items that ended but were not read since."""
    yield from poll_plan(tracker, tracker.needs_session())


def cancel_plan(tracker: JobTracker) -> Plan[list[int]]:
    """Cancel the tracker's unfinished items; returns the ids canceled."""
    items = yield from _each_item(tracker, tracker.unfinished_ids, QueueOps.cancel_queue_item)
    return [item.item_id for item in items]


def delete_images_plan(names: Sequence[str]) -> Plan[list[str]]:
    """Delete images one by one; an image already gone counts as deleted."""
    deleted: list[str] = []
    for name in names:
        try:
            result = yield ImageOps.delete_image.call(IMAGES, name)
        except NotFoundError:
            deleted.append(name)
            continue
        deleted.extend(n for n in result.deleted_images if n == name)
    return deleted


def download_plan(image_name: str) -> Plan[bytes]:
    """The full image."""
    data: bytes = yield ImageOps.download_image.call(IMAGES, image_name)
    return data


class ClientDownloader(ImageDownloader):
    """Downloads output images through one client: blocking with a sync client, awaited with
    either."""

    def __init__(self, client: SyncBound | AsyncBound) -> None:
        self._client = client

    def fetch(self, image_name: str) -> bytes:
        client = self._client
        if not isinstance(client, SyncBound):
            raise TypeError(
                f"output {image_name!r} came through an async client: await its async methods "
                "(await image.asave(folder), await image.ato_bytes())"
            )
        return drive_sync(download_plan(image_name), client.execute)

    async def afetch(self, image_name: str) -> bytes:
        return await drive(download_plan(image_name), self._client)


__all__ = [
    "IMAGES",
    "MODELS",
    "ClientDownloader",
    "Plan",
    "cancel_plan",
    "delete_images_plan",
    "download_plan",
    "drive",
    "drive_sync",
    "poll_plan",
    "queue_ops",
    "settle_plan",
]
