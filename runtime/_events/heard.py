"""Queue items pieced together from one socket connection's events, so that an item that
completed needs no read. Pure.

Between an item's ``in_progress`` and ``completed`` statuses the server emits an
``invocation_complete`` for every node it ran (cached ones too), in order, on one connection;
each carries the prepared node (its id and type), its workflow node id and its output. Heard
whole, they are the parts of the session a finished item's outputs are read from (``results``,
the source/prepared mappings, the prepared nodes' types). An item not heard from its start, or
across a dropped connection, is not pieced together: it is read from the server.
"""

from __future__ import annotations

from typing import Any

from ivkgen.runtime._events.messages import (
    Event,
    InvocationCompleteEvent,
    QueueItemStatusChangedEvent,
)
from ivkgen.runtime._server.dto import SessionQueueItem
from pydantic import ValidationError


def _new_session(session_id: str | None) -> dict[str, Any]:
    return {
        "id": session_id,
        "results": {},
        "prepared_source_mapping": {},
        "source_prepared_mapping": {},
        "execution_graph": {"nodes": {}},
    }


class HeardItems:
    """The items of one connection under way (``take`` each of their events, ``forget`` when
    the connection drops)."""

    def __init__(self) -> None:
        self._sessions: dict[int, dict[str, Any]] = {}

    def take(self, event: Event) -> SessionQueueItem | None:
        """Take in an event of an item; return the item once it completed, if heard whole."""
        item_id = getattr(event, "item_id", None)
        if not isinstance(item_id, int):
            return None
        if isinstance(event, InvocationCompleteEvent):
            session = self._sessions.get(item_id)
            if session is not None:
                prepared = event.prepared_node_id
                session["results"][prepared] = event.result
                session["prepared_source_mapping"][prepared] = event.invocation_source_id
                mapping = session["source_prepared_mapping"]
                mapping.setdefault(event.invocation_source_id, []).append(prepared)
                session["execution_graph"]["nodes"][prepared] = {"type": event.node_type}
            return None
        if not isinstance(event, QueueItemStatusChangedEvent):
            return None
        if event.status == "in_progress":  # again after ``waiting`` on a called workflow
            self._sessions.setdefault(item_id, _new_session(event.session_id))
            return None
        if not event.is_terminal:
            return None
        session = self._sessions.pop(item_id, None)
        if session is None or event.status != "completed":
            return None
        fields = event.model_dump(exclude={"type", "name", "timestamp"})
        try:
            return SessionQueueItem.model_validate({**fields, "session": session})
        except ValidationError:  # an event without what an item has: read the item
            return None

    def forget(self) -> None:
        """The connection dropped: events of the items under way may be lost."""
        self._sessions.clear()
