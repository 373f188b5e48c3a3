"""Typed Socket.IO events of an InvokeAI 6.x server, and the parser from ``(name, payload)``.

Every event is a pydantic model with ``extra="allow"``: the fields a client relies on are typed,
everything else the server sends stays reachable (``model_extra``, ``event["key"]``). ``type`` is
the event's kind (a ``SessionEvent``). There is no "session complete" event on 6.x: a queue item
ends with a ``queue_item_status_changed`` whose ``status`` is terminal (``is_terminal``), or with
``queue_items_canceled`` / ``queue_cleared``. For code written against older servers, the socket
follows each terminal status with a ``GraphCompleteEvent`` (kind ``GRAPH_COMPLETE``, the same
fields), which the server itself never sends.

In multi-user mode other users' item events arrive redacted (``"redacted"`` ids): they never
match a client's own item or batch ids.

InvokeAI 7.0 adds to ``invocation_*`` events the item a ``call_saved_workflow`` node enqueued
them from (``parent_item_id``, ``root_item_id``, ``workflow_call_parent_source_id``): such an
event concerns its root item too. Its ``invocation_progress`` frames carry an increasing
``revision``, and after ``subscribe_queue`` it replays each running item's latest frame without
``timestamp``, ``batch_id``, ``origin``, ``destination``, ``user_id`` and ``invocation`` (so
frames are matched by item id; :class:`ProgressRevisions` drops a frame older than one seen).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import StrEnum
from typing import Any, ClassVar

from ivkgen.runtime._server.dto import StatusReport
from ivkgen.runtime._server.mapping import ReadableAsDict
from pydantic import BaseModel, ConfigDict


class SessionEvent(StrEnum):
    """The kinds of events the server emits (the Socket.IO event names)."""

    INVOCATION_STARTED = "invocation_started"
    INVOCATION_PROGRESS = "invocation_progress"
    INVOCATION_COMPLETE = "invocation_complete"
    INVOCATION_ERROR = "invocation_error"
    QUEUE_ITEM_STATUS_CHANGED = "queue_item_status_changed"
    BATCH_ENQUEUED = "batch_enqueued"
    QUEUE_ITEMS_CANCELED = "queue_items_canceled"
    QUEUE_ITEMS_RETRIED = "queue_items_retried"
    QUEUE_CLEARED = "queue_cleared"
    MODEL_LOAD_STARTED = "model_load_started"
    MODEL_LOAD_COMPLETE = "model_load_complete"
    GRAPH_COMPLETE = "graph_complete"
    """A queue item ended (any terminal status): made by the socket, see ``GraphCompleteEvent``."""
    OTHER = "other"
    """Any event this module has no model for (``name`` keeps the server's event name)."""


class Event(ReadableAsDict, BaseModel):
    """Base of every event: its kind, the server's event name and ``timestamp`` (epoch seconds).

    ``event["field"]`` and ``event.get("field")`` read a field or an undeclared payload key.
    """

    model_config = ConfigDict(extra="allow")

    type: SessionEvent
    name: str
    timestamp: int | None = None
    queue_id: str | None = None

    def concerns(self, item_ids: Collection[int], batch_ids: Collection[str]) -> bool:
        """Whether this event is about one of these queue items or batches."""
        return False


class QueueItemEvent(Event):
    """An event about one queue item."""

    item_id: int | str | None = None
    batch_id: str | None = None
    session_id: str | None = None
    origin: str | None = None
    destination: str | None = None
    user_id: str | None = None

    @property
    def root_id(self) -> int | str | None:
        """The submitted item this event belongs to (see ``InvocationEvent.root_id``)."""
        return self.item_id

    def concerns(self, item_ids: Collection[int], batch_ids: Collection[str]) -> bool:
        return self.item_id in item_ids or self.root_id in item_ids or self.batch_id in batch_ids


class InvocationEvent(QueueItemEvent):
    """``invocation_*``: ``invocation`` is the prepared node (its ``id`` is a prepared id; a
    replayed 7.0 progress frame has none); ``invocation_source_id`` is the workflow's node id.
    On 7.0 an item a ``call_saved_workflow`` node enqueued names its parent and root items."""

    derived_keys: ClassVar[tuple[str, ...]] = (
        "node_id",
        "prepared_node_id",
        "node_type",
        "root_id",
    )

    invocation: dict[str, Any] = {}
    invocation_source_id: str = ""
    parent_item_id: int | str | None = None
    root_item_id: int | str | None = None
    workflow_call_parent_source_id: str | None = None

    @property
    def root_id(self) -> int | str | None:
        """The submitted item this event belongs to: ``root_item_id`` for an item a
        ``call_saved_workflow`` node enqueued (7.0), else the event's own item."""
        return self.item_id if self.root_item_id is None else self.root_item_id

    @property
    def node_id(self) -> str:
        """The workflow (source) node id."""
        return self.invocation_source_id

    @property
    def prepared_node_id(self) -> str:
        return str(self.invocation.get("id", ""))

    @property
    def node_type(self) -> str:
        return str(self.invocation.get("type", ""))


class InvocationStartedEvent(InvocationEvent):
    pass


class InvocationProgressEvent(InvocationEvent):
    derived_keys: ClassVar[tuple[str, ...]] = (*InvocationEvent.derived_keys, "progress")

    message: str = ""
    percentage: float | None = None
    image: dict[str, Any] | None = None
    revision: int | None = None
    """Increases with each frame of an item (InvokeAI 7.0; None before)."""

    @property
    def progress(self) -> float | None:
        """Progress from 0 to 1, when the node reports one."""
        return self.percentage


class InvocationCompleteEvent(InvocationEvent):
    derived_keys: ClassVar[tuple[str, ...]] = (
        *InvocationEvent.derived_keys,
        "outputs",
        "image_name",
    )

    result: dict[str, Any] = {}

    @property
    def outputs(self) -> dict[str, Any]:
        """The node's output (``result``), under the name older servers used."""
        return self.result

    @property
    def image_name(self) -> str | None:
        """The name of the image the node output, if it output one."""
        image = self.result.get("image")
        return str(image["image_name"]) if isinstance(image, Mapping) else None

    @property
    def video_name(self) -> str | None:
        """The name of the video the node output, if it output one."""
        video = self.result.get("video")
        return str(video["video_name"]) if isinstance(video, Mapping) else None


class InvocationErrorEvent(InvocationEvent):
    derived_keys: ClassVar[tuple[str, ...]] = (*InvocationEvent.derived_keys, "error")

    error_type: str = ""
    error_message: str = ""
    error_traceback: str = ""

    @property
    def error(self) -> str:
        return f"{self.error_type}: {self.error_message}"


class QueueItemStatusChangedEvent(QueueItemEvent, StatusReport):
    status_sequence: int | None = None
    created_at: str | None = None
    updated_at: str | None = None
    batch_status: dict[str, Any] | None = None
    queue_status: dict[str, Any] | None = None


class GraphCompleteEvent(QueueItemEvent):
    """A queue item ended: made by the socket after a terminal ``queue_item_status_changed``,
    with that event's fields (``status`` says how it ended), of kind ``GRAPH_COMPLETE``."""

    status: str

    @classmethod
    def of(cls, event: QueueItemStatusChangedEvent) -> GraphCompleteEvent:
        data = {**event.model_dump(), "type": SessionEvent.GRAPH_COMPLETE}
        return cls.model_validate({**data, "name": SessionEvent.GRAPH_COMPLETE.value})


class BatchEnqueuedEvent(Event):
    batch_id: str
    enqueued: int = 0
    requested: int = 0
    priority: int = 0
    origin: str | None = None
    user_id: str | None = None

    def concerns(self, item_ids: Collection[int], batch_ids: Collection[str]) -> bool:
        return self.batch_id in batch_ids


class QueueItemsCanceledEvent(Event):
    """Pending items canceled in bulk (by batch, destination, all but current): no
    ``queue_item_status_changed`` is sent for them."""

    canceled_item_ids: list[int] = []
    user_ids: list[str] = []

    def concerns(self, item_ids: Collection[int], batch_ids: Collection[str]) -> bool:
        return any(item_id in item_ids for item_id in self.canceled_item_ids)


class QueueClearedEvent(Event):
    """The queue was cleared: every unfinished item of ``user_id`` (everyone's if None) is gone."""

    user_id: str | None = None

    def concerns(self, item_ids: Collection[int], batch_ids: Collection[str]) -> bool:
        return True


class ModelLoadEvent(Event):
    """``model_load_started`` / ``model_load_complete``."""

    config: dict[str, Any] = {}
    submodel_type: str | None = None
    user_id: str | None = None


class ProgressRevisions:
    """The latest ``revision`` seen per item and node: a frame that is not newer (a 7.0 server
    replays each running item's latest frame after ``subscribe_queue``) is stale."""

    def __init__(self) -> None:
        self._latest: dict[tuple[int | str | None, str], int] = {}

    def fresh(self, event: Event) -> bool:
        """False for a progress frame older than, or the same as, one seen before."""
        if not isinstance(event, InvocationProgressEvent) or event.revision is None:
            return True
        key = (event.item_id, event.invocation_source_id)
        if event.revision <= self._latest.get(key, -1):
            return False
        self._latest[key] = event.revision
        return True

    def forget(self, item_id: int | str | None) -> None:
        """Drop what is known of an item that ended."""
        for key in [key for key in self._latest if key[0] == item_id]:
            del self._latest[key]


_MODELS: dict[SessionEvent, type[Event]] = {
    SessionEvent.INVOCATION_STARTED: InvocationStartedEvent,
    SessionEvent.INVOCATION_PROGRESS: InvocationProgressEvent,
    SessionEvent.INVOCATION_COMPLETE: InvocationCompleteEvent,
    SessionEvent.INVOCATION_ERROR: InvocationErrorEvent,
    SessionEvent.QUEUE_ITEM_STATUS_CHANGED: QueueItemStatusChangedEvent,
    SessionEvent.BATCH_ENQUEUED: BatchEnqueuedEvent,
    SessionEvent.QUEUE_ITEMS_CANCELED: QueueItemsCanceledEvent,
    SessionEvent.QUEUE_CLEARED: QueueClearedEvent,
    SessionEvent.MODEL_LOAD_STARTED: ModelLoadEvent,
    SessionEvent.MODEL_LOAD_COMPLETE: ModelLoadEvent,
}


def parse_event(name: str, payload: Mapping[str, Any] | None) -> Event:
    """The typed event for a Socket.IO event ``name`` and its payload.

    Unknown names give an ``Event`` of kind ``OTHER``; a payload that does not fit its model
    raises pydantic's ``ValidationError`` naming the event.
    """
    try:
        kind = SessionEvent(name)
    except ValueError:
        kind = SessionEvent.OTHER
    model = _MODELS.get(kind, Event)
    data = {k: v for k, v in (payload or {}).items() if k not in ("type", "name")}
    return model.model_validate({**data, "type": kind, "name": name})
