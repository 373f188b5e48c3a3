"""The session queue (``/api/v1/queue/{queue_id}``): enqueue, status, items, cancel, clean up."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from ivkgen.runtime._errors import PriorityWarning
from ivkgen.runtime._repositories._base import AsyncRepository, SyncRepository
from ivkgen.runtime._server.core import (
    AsyncBound,
    Call,
    SyncBound,
    operation,
    parse_key,
    parse_model,
    parse_model_list,
    parse_none,
)
from ivkgen.runtime._server.dto import (
    BatchStatus,
    EnqueueBatchResult,
    EnqueueReceipt,
    ProcessorStatus,
    QueueAndProcessorStatus,
    QueueItemSummary,
    SessionQueueItem,
)
from ivkgen.runtime._server.urls import segment

DEFAULT_QUEUE = "default"
MAX_ITEMS_PER_CALL = 1000


def prepend_for(priority: int) -> bool:
    """The ``prepend`` flag that honours ``priority`` as far as the server can.

    An InvokeAI 6.x queue has no numeric priorities: ``enqueue_batch`` appends (``priority`` 0)
    or puts the batch ahead of every pending item (``priority`` 1, or any value above 0). Other
    values are served that way with a warning that says so.
    """
    if priority not in (0, 1):
        how = "ahead of the pending items, as priority=1" if priority > 0 else "after them"
        warnings.warn(
            f"priority={priority}: the InvokeAI queue has no numeric priorities, only append "
            f"(0) or prepend (1); the items are enqueued {how}",
            PriorityWarning,
            stacklevel=3,
        )
    return priority > 0


def _checked_ids(item_ids: Sequence[int]) -> list[int]:
    if len(item_ids) > MAX_ITEMS_PER_CALL:
        raise ValueError(f"{len(item_ids)} item ids: the server takes at most 1000")
    return [int(i) for i in item_ids]


class QueueOps:
    """Queue operations, written once for the sync and async repositories."""

    queue_id: str

    def _path(self, tail: str) -> str:
        return f"/api/v1/queue/{segment(self.queue_id)}{tail}"

    @operation
    def enqueue_batch(self, body: Mapping[str, Any]) -> Call[EnqueueBatchResult]:
        """Enqueue ``{"batch": Batch, "prepend": bool}`` (never retried: a lost answer may still
        have enqueued)."""
        if "batch" not in body or "graph" not in body["batch"]:
            raise ValueError('an enqueue body is {"batch": {"graph": ..., ...}, "prepend": ...}')
        return Call(
            "POST", self._path("/enqueue_batch"), parse_model(EnqueueBatchResult), json=dict(body)
        )

    @operation
    def get_enqueue_receipt(self, idempotency_key: str) -> Call[EnqueueReceipt]:
        """What the batch sent with this ``idempotency_key`` enqueued (``NotFoundError``:
        nothing); servers whose schema lists the route only (InvokeAI 7.0)."""
        params = {"idempotency_key": idempotency_key}
        path = self._path("/enqueue_batch/receipt")
        return Call("GET", path, parse_model(EnqueueReceipt), params=params)

    @operation
    def acknowledge_enqueue(self, idempotency_key: str) -> Call[None]:
        """Let the server forget the receipt of this ``idempotency_key`` (InvokeAI 7.0)."""
        body = {"idempotency_key": idempotency_key}
        return Call("POST", self._path("/enqueue_batch/acknowledge"), parse_none, json=body)

    @operation
    def get_status(self) -> Call[QueueAndProcessorStatus]:
        """Item counts by status, the current item, and whether the processor runs."""
        return Call("GET", self._path("/status"), parse_model(QueueAndProcessorStatus))

    @operation
    def get_queue_item(self, item_id: int) -> Call[SessionQueueItem]:
        """One item with its session (results are final once the status is terminal)."""
        return Call("GET", self._path(f"/i/{int(item_id)}"), parse_model(SessionQueueItem))

    @operation
    def get_queue_item_summaries(self, item_ids: Sequence[int]) -> Call[list[QueueItemSummary]]:
        """Items without their sessions, in the order asked for (InvokeAI 6.14; at most 1000
        ids; missing ids are left out)."""
        return Call(
            "POST",
            self._path("/item_summaries_by_ids"),
            parse_model_list(QueueItemSummary),
            json={"item_ids": _checked_ids(item_ids)},
        )

    @operation
    def get_queue_items(self, item_ids: Sequence[int]) -> Call[list[SessionQueueItem]]:
        """Items in the order asked for (at most 1000 ids; missing ids are left out)."""
        return Call(
            "POST",
            self._path("/items_by_ids"),
            parse_model_list(SessionQueueItem),
            json={"item_ids": _checked_ids(item_ids)},
        )

    @operation
    def list_item_ids(self, *, order_dir: Literal["ASC", "DESC"] = "DESC") -> Call[list[int]]:
        """Every item id of the queue, by creation time."""
        return Call(
            "GET",
            self._path("/item_ids"),
            parse_key("item_ids", list),
            params={"order_dir": order_dir},
        )

    @operation
    def list_all_items(self, *, destination: str | None = None) -> Call[list[SessionQueueItem]]:
        """Every item of the queue (of one ``destination`` if given), by priority then id."""
        params = {"destination": destination} if destination is not None else None
        return Call(
            "GET", self._path("/list_all"), parse_model_list(SessionQueueItem), params=params
        )

    @operation
    def get_batch_status(self, batch_id: str) -> Call[BatchStatus]:
        """Item counts by status for one batch."""
        return Call("GET", self._path(f"/b/{segment(batch_id)}/status"), parse_model(BatchStatus))

    @operation
    def cancel_queue_item(self, item_id: int) -> Call[SessionQueueItem]:
        """Cancel one item (a no-op for an item that already ended); returns the item."""
        return Call("PUT", self._path(f"/i/{int(item_id)}/cancel"), parse_model(SessionQueueItem))

    @operation
    def cancel_by_batch_ids(self, batch_ids: Sequence[str]) -> Call[int]:
        """Cancel every unfinished item of these batches; returns how many were canceled."""
        if isinstance(batch_ids, str):
            raise TypeError("give a list of batch ids, not one string")
        return Call(
            "PUT",
            self._path("/cancel_by_batch_ids"),
            parse_key("canceled", int),
            json={"batch_ids": list(batch_ids)},
        )

    @operation
    def delete_queue_item(self, item_id: int) -> Call[None]:
        """Delete one item (canceled first if it has not ended)."""
        return Call("DELETE", self._path(f"/i/{int(item_id)}"), parse_none)

    @operation
    def prune(self) -> Call[int]:
        """Delete every completed, failed and canceled item; returns how many."""
        return Call("PUT", self._path("/prune"), parse_key("deleted", int))

    @operation
    def clear(self) -> Call[int]:
        """Cancel the running item and delete every item of the queue; returns how many."""
        return Call("PUT", self._path("/clear"), parse_key("deleted", int))

    @operation
    def pause_processor(self) -> Call[ProcessorStatus]:
        """Stop dequeuing (admin); pending items stay pending."""
        return Call("PUT", self._path("/processor/pause"), parse_model(ProcessorStatus))

    @operation
    def resume_processor(self) -> Call[ProcessorStatus]:
        """Resume dequeuing (admin)."""
        return Call("PUT", self._path("/processor/resume"), parse_model(ProcessorStatus))


class QueueRepository(SyncRepository, QueueOps):
    """``client.queue_repo``: one session queue (``"default"`` unless told otherwise)."""

    def __init__(self, client: SyncBound, queue_id: str = DEFAULT_QUEUE) -> None:
        super().__init__(client)
        self.queue_id = queue_id


class AsyncQueueRepository(AsyncRepository, QueueOps):
    """``async_client.queue_repo``: one session queue (``"default"`` unless told otherwise)."""

    def __init__(self, client: AsyncBound, queue_id: str = DEFAULT_QUEUE) -> None:
        super().__init__(client)
        self.queue_id = queue_id
