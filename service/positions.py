"""A pending queue item's place in its InvokeAI server's queue (1: next to run).

InvokeAI runs pending items oldest first (the service never puts an item ahead of others), so
the items ahead of one are the pending items enqueued before it. The queue's item ids are read,
then the statuses of the ids below the item, nearest first, a thousand at a time, until an item
that is no longer pending (everything older left the queue before it). A server's reading is
kept ``FRESH_SECONDS`` for the other items asked about meanwhile.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ivkgen.runtime._errors import IvkgenError
from ivkgen.runtime._jobs.plans import queue_ops
from ivkgen.runtime._repositories.queue import DEFAULT_QUEUE, MAX_ITEMS_PER_CALL, QueueOps
from ivkgen.runtime._server.core import AsyncBound
from ivkgen.runtime._server.dto import QueueItemSummary

FRESH_SECONDS = 1.0


@dataclass(frozen=True)
class _Reading:
    """The pending item ids of a server's queue up to ``top``, read at ``moment``."""

    moment: float
    top: int
    pending: list[int]


class QueuePositions:
    """Places of pending items in their servers' queues (see the module docstring)."""

    def __init__(
        self, clients: Mapping[str, AsyncBound], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.clients = clients
        self._clock = clock
        self._readings: dict[str, _Reading] = {}

    async def position(self, server: str, item_id: int) -> int | None:
        """The place of pending item ``item_id`` in ``server``'s queue; None when it is not
        pending (or the server does not tell)."""
        reading = self._readings.get(server)
        fresh = reading is not None and self._clock() - reading.moment < FRESH_SECONDS
        if reading is None or not fresh or reading.top < item_id:
            try:
                reading = await self._read(server, item_id)
            except IvkgenError:
                return None
            self._readings[server] = reading
        place = bisect.bisect_left(reading.pending, item_id)
        if place == len(reading.pending) or reading.pending[place] != item_id:
            return None
        return place + 1

    async def _read(self, server: str, top: int) -> _Reading:
        client = self.clients[server]
        queue = queue_ops(DEFAULT_QUEUE)
        moment = self._clock()
        ids: list[int] = await client.execute(QueueOps.list_item_ids.call(queue, order_dir="ASC"))
        below = sorted((i for i in ids if i <= top), reverse=True)
        pending: list[int] = []
        for start in range(0, len(below), MAX_ITEMS_PER_CALL):
            chunk = below[start : start + MAX_ITEMS_PER_CALL]
            call = QueueOps.get_queue_item_summaries.call(queue, chunk)
            summaries: list[QueueItemSummary] = await client.execute(call)
            status = {s.item_id: s.status for s in summaries}
            for item_id in chunk:
                if item_id not in status:
                    continue  # deleted meanwhile
                if status[item_id] != "pending":
                    return _Reading(moment, top, sorted(pending))
                pending.append(item_id)
        return _Reading(moment, top, sorted(pending))


__all__ = ["QueuePositions"]
