"""Enqueue a batch exactly once, also when the answer is lost.

``enqueue_batch`` is never retried (a lost answer may still have enqueued). When it gets no
answer, the batch id the client chose is its tag: the items of the batch are looked up in the
queue (by the batch's ``destination``, then by ``batch_id``) and, if the server took the batch,
adopted as its answer; if it did not, the original error is raised. Nothing is enqueued twice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ivkgen.runtime.errors import IvkgenError, TransportError
from ivkgen.runtime.jobs.plans import Pause, Plan, queue_ops
from ivkgen.runtime.repositories.queue import QueueOps
from ivkgen.runtime.server.dto import EnqueueBatchResult, SessionQueueItem

log = logging.getLogger("ivkgen.runtime.jobs.enqueue")

LOOKUPS = 3  # reads of the queue after a lost answer (the server may still be enqueuing)
LOOKUP_PAUSE = 0.5


def enqueue_plan(queue_id: str, body: Mapping[str, Any]) -> Plan[EnqueueBatchResult]:
    """Enqueue ``body`` (whose batch carries its ``batch_id``); reconcile a lost answer."""
    queue = queue_ops(queue_id)
    try:
        result: EnqueueBatchResult = yield QueueOps.enqueue_batch.call(queue, body)
        return result
    except TransportError as lost:
        batch = body["batch"]
        mine: list[SessionQueueItem] = []
        try:
            for attempt in range(LOOKUPS):
                if attempt:
                    yield Pause(LOOKUP_PAUSE)
                items: list[SessionQueueItem] = yield QueueOps.list_all_items.call(
                    queue, destination=batch.get("destination")
                )
                mine = [item for item in items if item.batch_id == batch["batch_id"]]
                if mine:
                    break
        except IvkgenError as exc:
            lost.add_note(f"looking up batch {batch['batch_id']} afterwards failed too: {exc}")
            raise lost from None
        if not mine:
            lost.add_note(
                f"the queue has no item of batch {batch['batch_id']}: nothing was enqueued"
            )
            raise
        log.warning(
            "the answer to enqueuing batch %s was lost; the server had enqueued %d item(s), "
            "adopted",
            batch["batch_id"],
            len(mine),
        )
        ids = sorted((item.item_id for item in mine), reverse=True)
        return EnqueueBatchResult(
            queue_id=queue_id,
            enqueued=len(ids),
            requested=len(ids),
            batch=dict(batch),
            priority=mine[0].priority,
            item_ids=ids,
        )


__all__ = ["enqueue_plan"]
