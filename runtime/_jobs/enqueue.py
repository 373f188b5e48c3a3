"""Enqueue a batch exactly once, also when the answer is lost.

``enqueue_batch`` is never retried blindly (a lost answer may still have enqueued). Where the
server's schema lists enqueue receipts (InvokeAI 7.0, see :mod:`ivkgen.runtime._server.features`)
the batch carries an ``idempotency_key`` (its batch id): a lost answer is looked up by its
receipt, a batch the server has no receipt of is sent once more under the same key (the server
enqueues a key once), and the receipt is acknowledged once the answer is known. Elsewhere the
batch id the client chose is its tag: the items of the batch are looked up in the queue (by the
batch's ``destination``, then by ``batch_id``) and, if the server took the batch, adopted as its
answer; if it did not, the original error is raised. Nothing is enqueued twice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ivkgen.runtime._errors import HTTPStatusError, IvkgenError, NotFoundError, TransportError
from ivkgen.runtime._jobs.plans import Pause, Plan, queue_ops
from ivkgen.runtime._repositories.queue import QueueOps
from ivkgen.runtime._server.dto import EnqueueBatchResult, EnqueueReceipt, SessionQueueItem
from ivkgen.runtime._server.features import ServerFeatures, ServerSchema, schema_call

log = logging.getLogger("ivkgen.runtime._jobs.enqueue")

LOOKUPS = 3  # reads of the queue after a lost answer (the server may still be enqueuing)
LOOKUP_PAUSE = 0.5


def keyed(body: Mapping[str, Any]) -> dict[str, Any]:
    """The enqueue body with its batch's ``idempotency_key`` (its batch id) for a server with
    receipts."""
    batch = body["batch"]
    return {**body, "batch": {**batch, "idempotency_key": batch["batch_id"]}}


def receipt_plan(queue_id: str, key: str) -> Plan[EnqueueReceipt | None]:
    """The receipt of the batch sent with ``key``; None when the server has none."""
    try:
        receipt: EnqueueReceipt = yield QueueOps.get_enqueue_receipt.call(queue_ops(queue_id), key)
    except NotFoundError:
        return None
    return receipt


def acknowledge_plan(queue_id: str, key: str) -> Plan[None]:
    """Acknowledge a receipt; a failure only leaves the receipt on the server until it expires."""
    try:
        yield QueueOps.acknowledge_enqueue.call(queue_ops(queue_id), key)
    except IvkgenError as exc:
        log.debug("acknowledging the enqueue receipt %s failed: %s", key, exc)


def features_plan() -> Plan[ServerFeatures]:
    """The server's features (read once per client); a URL that is not InvokeAI's fails here."""
    try:
        schema: ServerSchema = yield schema_call()
    except HTTPStatusError:  # no schema to read (a proxy may hide it): a 6.14 server's ways
        return ServerFeatures()
    return schema.features


def enqueue_plan(queue_id: str, body: Mapping[str, Any]) -> Plan[EnqueueBatchResult]:
    """Enqueue ``body`` (whose batch carries its ``batch_id``); reconcile a lost answer."""
    features = yield from features_plan()
    if features.receipts:
        return (yield from _enqueue_with_receipt(queue_id, keyed(body)))
    queue = queue_ops(queue_id)
    try:
        result: EnqueueBatchResult = yield QueueOps.enqueue_batch.call(queue, body)
        return result
    except TransportError as lost:
        return (yield from _adopt_from_queue(queue_id, body["batch"], lost))


def _enqueue_with_receipt(queue_id: str, body: Mapping[str, Any]) -> Plan[EnqueueBatchResult]:
    """Send a keyed batch; after a lost answer read its receipt, else send it once more."""
    batch = body["batch"]
    key = batch["idempotency_key"]
    queue = queue_ops(queue_id)
    try:
        result: EnqueueBatchResult = yield QueueOps.enqueue_batch.call(queue, body)
    except TransportError as lost:
        try:
            receipt = yield from _lookup(queue_id, key)
            if receipt is None:
                result = yield QueueOps.enqueue_batch.call(queue, body)
            else:
                log.warning(
                    "the answer to enqueuing batch %s was lost; its receipt lists %d item(s), "
                    "adopted",
                    batch["batch_id"],
                    receipt.enqueued,
                )
                result = _result(queue_id, batch, receipt.item_ids, receipt.requested, 0)
        except IvkgenError as exc:
            lost.add_note(f"reconciling batch {batch['batch_id']} afterwards failed: {exc}")
            raise lost from None
    yield from acknowledge_plan(queue_id, key)
    return result


def _lookup(queue_id: str, key: str) -> Plan[EnqueueReceipt | None]:
    """The receipt of ``key``, read a few times (the server may still be enqueuing)."""
    for attempt in range(LOOKUPS):
        if attempt:
            yield Pause(LOOKUP_PAUSE)
        receipt = yield from receipt_plan(queue_id, key)
        if receipt is not None:
            return receipt
    return None


def _adopt_from_queue(
    queue_id: str, batch: Mapping[str, Any], lost: TransportError
) -> Plan[EnqueueBatchResult]:
    """The items of a batch whose answer was lost, found in the queue by its batch id."""
    queue = queue_ops(queue_id)
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
        lost.add_note(f"the queue has no item of batch {batch['batch_id']}: nothing was enqueued")
        raise lost
    log.warning(
        "the answer to enqueuing batch %s was lost; the server had enqueued %d item(s), adopted",
        batch["batch_id"],
        len(mine),
    )
    ids = [item.item_id for item in mine]
    return _result(queue_id, batch, ids, len(ids), mine[0].priority)


def _result(
    queue_id: str, batch: Mapping[str, Any], item_ids: list[int], requested: int, priority: int
) -> EnqueueBatchResult:
    """An enqueue answer rebuilt from what the server holds (ids newest first, as it answers)."""
    return EnqueueBatchResult(
        queue_id=queue_id,
        enqueued=len(item_ids),
        requested=requested,
        batch=dict(batch),
        priority=priority,
        item_ids=sorted(item_ids, reverse=True),
    )
