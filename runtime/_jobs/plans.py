"""Server steps written once for sync and async use: generators of ``Call`` objects.

A *plan* yields each ``Call`` it needs and receives the parsed answer (or, thrown into it, the
error); it yields a ``Pause`` to wait between two calls. ``drive_sync`` runs a plan with a sync
client, ``drive`` with an async client or with a sync one in a worker thread; the decisions stay
in the plan.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from ivkgen.runtime._errors import HTTPStatusError, NotFoundError
from ivkgen.runtime._jobs.tracker import JobTracker
from ivkgen.runtime._media import Downloader, OutputKind
from ivkgen.runtime._repositories.images import ImageOps
from ivkgen.runtime._repositories.models import ModelOps
from ivkgen.runtime._repositories.queue import MAX_ITEMS_PER_CALL, QueueOps
from ivkgen.runtime._repositories.videos import VideoOps
from ivkgen.runtime._server.core import AsyncBound, Call, SyncBound, operation
from ivkgen.runtime._server.dto import (
    DeleteImagesResult,
    DeleteVideosResult,
    ImageDTO,
    PolledItem,
    QueueAndProcessorStatus,
    QueueItemSummary,
    SessionQueueItem,
    VideoDTO,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Pause:
    """Yielded by a plan to wait ``seconds`` before its next call (it receives None)."""

    seconds: float


Plan = Generator[Call[Any] | Pause, Any, T]

IMAGES = ImageOps()
MODELS = ModelOps()
VIDEOS = VideoOps()


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
            if isinstance(call, Pause):
                time.sleep(call.seconds)
                call = plan.send(None)
                continue
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
            if isinstance(call, Pause):
                await asyncio.sleep(call.seconds)
                call = plan.send(None)
                continue
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


def status_plan(queue_id: str) -> Plan[QueueAndProcessorStatus]:
    """The queue's status (a cheap authenticated request)."""
    status: QueueAndProcessorStatus = yield QueueOps.get_status.call(queue_ops(queue_id))
    return status


def poll_plan(tracker: JobTracker, item_ids: Sequence[int]) -> Plan[list[SessionQueueItem]]:
    """Read these items into the tracker, one request per item or per 1000 of several; an item
    gone from the queue counts as canceled."""
    if len(item_ids) == 1:
        return _each_item(tracker, item_ids, QueueOps.get_queue_item)
    return _items_by_ids(tracker, item_ids)


def follow_plan(tracker: JobTracker, item_ids: Sequence[int]) -> Plan[list[PolledItem]]:
    """What a wait reads of several items: their statuses without the sessions where the server
    can (InvokeAI 6.14's ``item_summaries_by_ids``), then the whole items of those that ended and
    need their final session (see ``JobTracker.needs_session``); whole items from older servers
    and for one item."""
    if len(item_ids) <= 1 or tracker.summaries is False:
        return list((yield from poll_plan(tracker, item_ids)))
    queue = queue_ops(tracker.queue_id)
    polled: list[PolledItem] = []
    asked = 0
    for chunk in chunks(item_ids):
        try:
            found: list[QueueItemSummary] = yield QueueOps.get_queue_item_summaries.call(
                queue, chunk
            )
        except HTTPStatusError as exc:
            if exc.status_code not in (404, 405):
                raise
            tracker.summaries = False  # an older server: no such route
            return polled + (yield from poll_plan(tracker, item_ids[asked:]))
        tracker.summaries = True
        for summary in found:
            tracker.feed_summary(summary)
        _deleted(tracker, chunk, found)
        ended = set(chunk) & set(tracker.needs_session())
        whole = (yield from _items_by_ids(tracker, sorted(ended))) if ended else []
        read = {item.item_id: item for item in whole}
        polled += [read.get(summary.item_id, summary) for summary in found]
        asked += len(chunk)
    return polled


def chunks(item_ids: Sequence[int]) -> list[Sequence[int]]:
    """``item_ids`` in runs of at most ``MAX_ITEMS_PER_CALL`` (what one request may name)."""
    return [
        item_ids[i : i + MAX_ITEMS_PER_CALL] for i in range(0, len(item_ids), MAX_ITEMS_PER_CALL)
    ]


def chunked_plan(
    call: Callable[[Sequence[int]], Call[list[T]]], item_ids: Sequence[int]
) -> Plan[list[T]]:
    """The answers of ``call`` for ``item_ids``, one request per chunk (see :func:`chunks`)."""
    found: list[T] = []
    for chunk in chunks(item_ids):
        answer: list[T] = yield call(chunk)
        found += answer
    return found


def _deleted(tracker: JobTracker, asked: Sequence[int], found: Sequence[PolledItem]) -> None:
    """Items asked for that the answer left out are gone from the queue."""
    seen = {item.item_id for item in found}
    for item_id in asked:
        if item_id not in seen:
            tracker.item_deleted(item_id)


def _items_by_ids(tracker: JobTracker, item_ids: Sequence[int]) -> Plan[list[SessionQueueItem]]:
    queue = queue_ops(tracker.queue_id)
    items = yield from chunked_plan(partial(QueueOps.get_queue_items.call, queue), item_ids)
    for item in items:
        tracker.feed_item(item)
    _deleted(tracker, item_ids, items)
    return items


def _each_item(
    tracker: JobTracker, item_ids: Sequence[int], op: operation[..., SessionQueueItem]
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


def cancel_plan(tracker: JobTracker) -> Plan[list[int]]:
    """Cancel the tracker's unfinished items; returns the ids canceled."""
    items = yield from _each_item(tracker, tracker.unfinished_ids, QueueOps.cancel_queue_item)
    return [item.item_id for item in items]


def delete_queue_items_plan(queue_id: str, item_ids: Sequence[int]) -> Plan[list[int]]:
    """Delete queue items (the server cancels unfinished ones first); returns those deleted, an
    item already gone is skipped."""
    queue = queue_ops(queue_id)
    deleted: list[int] = []
    for item_id in item_ids:
        try:
            yield QueueOps.delete_queue_item.call(queue, item_id)
        except NotFoundError:
            continue
        deleted.append(item_id)
    return deleted


def delete_files_plan(names: Sequence[str], kind: OutputKind = "image") -> Plan[list[str]]:
    """Delete images (or videos) one by one; a file already gone counts as deleted."""
    deleted: list[str] = []
    for name in names:
        try:
            if kind == "video":
                videos: DeleteVideosResult = yield VideoOps.delete_video.call(VIDEOS, name)
                done = videos.deleted_videos
            else:
                images: DeleteImagesResult = yield ImageOps.delete_image.call(IMAGES, name)
                done = images.deleted_images
        except NotFoundError:
            deleted.append(name)
            continue
        deleted.extend(n for n in done if n == name)
    return deleted


def file_dto_plan(kind: OutputKind, name: str) -> Plan[ImageDTO | VideoDTO]:
    """The server's record of an image or video (``NotFoundError`` when it is gone)."""
    if kind == "video":
        video: VideoDTO = yield VideoOps.get_video_dto.call(VIDEOS, name)
        return video
    image: ImageDTO = yield ImageOps.get_image_dto.call(IMAGES, name)
    return image


def download_plan(kind: OutputKind, name: str) -> Plan[bytes]:
    """The full image or video."""
    if kind == "video":
        video: bytes = yield VideoOps.download_video.call(VIDEOS, name)
        return video
    image: bytes = yield ImageOps.download_image.call(IMAGES, name)
    return image


class ClientDownloader(Downloader):
    """Downloads output files through one client: blocking with a sync client, awaited with
    either."""

    def __init__(self, client: SyncBound | AsyncBound) -> None:
        self._client = client

    def fetch(self, kind: OutputKind, name: str) -> bytes:
        client = self._client
        if not isinstance(client, SyncBound):
            raise TypeError(
                f"output {name!r} came through an async client: await its async methods "
                "(await output.asave(folder), await output.ato_bytes())"
            )
        return drive_sync(download_plan(kind, name), client.execute)

    async def afetch(self, kind: OutputKind, name: str) -> bytes:
        return await drive(download_plan(kind, name), self._client)
