"""Session ids of submitted queue items, and where a session's item stands.

The server makes one session per queue item when a batch is enqueued and does not return their
ids, so a submission reads its first item once (``first_item_plan``). A client keeps the items
it enqueued by session id (``SessionIndex``), so ``EventSocket.subscribe_session`` can read an
item that ended before the socket joined its queue (``session_status``).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from ivkgen.runtime._errors import IvkgenError, NotFoundError
from ivkgen.runtime._events.messages import QueueItemStatusChangedEvent, SessionEvent
from ivkgen.runtime._jobs.plans import Plan, queue_ops
from ivkgen.runtime._jobs.tracker import SubmitResult
from ivkgen.runtime._repositories.queue import QueueOps
from ivkgen.runtime._server.core import Call
from ivkgen.runtime._server.dto import SessionQueueItem

log = logging.getLogger("ivkgen.runtime._jobs.sessions")

MAX_SESSIONS = 10_000
"""How many sessions a client remembers (the oldest are forgotten first)."""


class SessionIndex:
    """Session id -> ``(queue id, item id)`` of the items a client enqueued."""

    def __init__(self, limit: int = MAX_SESSIONS) -> None:
        self._limit = limit
        self._items: OrderedDict[str, tuple[str, int]] = OrderedDict()

    def record(self, session_id: str, queue_id: str, item_id: int) -> None:
        self._items[session_id] = (queue_id, item_id)
        self._items.move_to_end(session_id)
        while len(self._items) > self._limit:
            self._items.popitem(last=False)

    def locate(self, session_id: str) -> tuple[str, int] | None:
        return self._items.get(session_id)


def remember_session(client: object, result: SubmitResult) -> None:
    """Record the submission's first session in its client's ``SessionIndex``, if it has one."""
    index = getattr(client, "sessions", None)
    if isinstance(index, SessionIndex) and result.session_id:
        index.record(result.session_id, result.queue_id, min(result.item_ids))


def first_item_plan(queue_id: str, item_ids: Sequence[int]) -> Plan[SessionQueueItem | None]:
    """The first enqueued item as it is now; None if it cannot be read (already gone, or the
    server did not answer: the items stay enqueued, only their session id is unknown)."""
    try:
        item: SessionQueueItem = yield QueueOps.get_queue_item.call(
            queue_ops(queue_id), min(item_ids)
        )
    except IvkgenError as exc:
        log.warning("queue item %s: session id unknown: %s", min(item_ids), exc)
        return None
    return item


def status_event(item: SessionQueueItem) -> QueueItemStatusChangedEvent:
    """The ``queue_item_status_changed`` event the server sent (or will send) for ``item``'s
    current status."""
    data = item.model_dump(include=set(QueueItemStatusChangedEvent.model_fields))
    return QueueItemStatusChangedEvent.model_validate(
        {
            **data,
            "type": SessionEvent.QUEUE_ITEM_STATUS_CHANGED,
            "name": SessionEvent.QUEUE_ITEM_STATUS_CHANGED.value,
        }
    )


SessionStatus = Callable[[str], Awaitable[QueueItemStatusChangedEvent | None]]


def session_status(
    index: SessionIndex, send: Callable[[Call[Any]], Awaitable[Any]]
) -> SessionStatus:
    """A lookup of the current status of a session this client enqueued (None if the client
    does not know the session or its item is gone); ``send`` sends one call."""

    async def lookup(session_id: str) -> QueueItemStatusChangedEvent | None:
        found = index.locate(session_id)
        if found is None:
            return None
        queue_id, item_id = found
        try:
            item: SessionQueueItem = await send(
                QueueOps.get_queue_item.call(queue_ops(queue_id), item_id)
            )
        except NotFoundError:
            return None
        return status_event(item)

    return lookup
