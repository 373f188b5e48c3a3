"""The state of a submitted batch, kept without I/O: feed it events or polled queue items.

``JobTracker`` follows the queue items of one enqueue (one batch). A job ends only on a terminal
status of its own items (``completed``, ``failed``, ``canceled``; a bulk cancel naming its items;
an item deleted from the queue), never because the queue is empty. The tracker says when its
owner should poll (``feed`` returns True) and turns the final state into ``Job`` records or the
errors of ``ivkgen.runtime._errors``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from ivkgen.runtime._errors import JobCanceledError, JobFailedError, JobTimeoutError
from ivkgen.runtime._events.messages import (
    Event,
    InvocationCompleteEvent,
    InvocationErrorEvent,
    InvocationEvent,
    QueueClearedEvent,
    QueueItemsCanceledEvent,
    QueueItemStatusChangedEvent,
)
from ivkgen.runtime._server.dto import QueueItemSummary, SessionQueueItem, StatusReport
from ivkgen.runtime._server.mapping import ReadableAsDict
from pydantic import BaseModel


class Job(ReadableAsDict, StatusReport):
    """One queue item of a submission, as it ended (or stands).

    ``duration_seconds`` is the server's ``completed_at - started_at`` when both are known, else
    the time the client watched the item. ``node_id``/``node_label`` name the failing node.
    ``job["status"]`` works as well as ``job.status``.
    """

    derived_keys: ClassVar[tuple[str, ...]] = ("item_id",)

    id: int
    batch_id: str
    queue_id: str
    session_id: str | None = None
    duration_seconds: float | None = None
    node_id: str | None = None
    node_label: str | None = None

    @property
    def item_id(self) -> int:
        return self.id


class SubmitResult(ReadableAsDict, BaseModel):
    """What one submission enqueued: ``item_ids`` ascending (the order they run at equal
    priority) and ``session_id``, the session of the first item (the server makes one session
    per item). ``result["batch_id"]`` works as well as ``result.batch_id``."""

    batch_id: str
    queue_id: str
    enqueued: int
    requested: int
    priority: int
    item_ids: list[int]
    session_id: str | None = None


@dataclass
class _ItemState:
    item_id: int
    report: StatusReport = field(default_factory=lambda: StatusReport(status="pending"))
    sequence: int = -1
    session_id: str | None = None
    node_id: str | None = None
    ended: float | None = None
    deleted: bool = False
    settled: bool = False
    ran: bool = False
    """Seen running (a status or a node's event), whatever timestamps were reported."""
    item: SessionQueueItem | None = None
    images: dict[str, str] = field(default_factory=dict)
    videos: dict[str, str] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return self.report.status

    @property
    def terminal(self) -> bool:
        return self.report.is_terminal

    def record_image(self, event: InvocationCompleteEvent) -> None:
        if event.image_name and event.session_id:
            self.images[event.image_name] = event.session_id
        if event.video_name and event.session_id:
            self.videos[event.video_name] = event.session_id


@dataclass(frozen=True)
class CalledItem:
    """A queue item a ``call_saved_workflow`` node enqueued (6.14), read after it ended;
    ``called_by`` is the call node of the submitted workflow it descends from."""

    item: SessionQueueItem
    called_by: str


def _newer(known: StatusReport, update: StatusReport) -> StatusReport:
    """``update``, keeping the known values of the fields it leaves empty."""
    return StatusReport(
        **{
            name: getattr(update, name) or getattr(known, name)
            for name in StatusReport.model_fields
        }
    )


class JobTracker:
    """The items of one enqueued batch and what is known about each."""

    def __init__(
        self,
        queue_id: str,
        batch_id: str,
        item_ids: Sequence[int],
        *,
        node_labels: Mapping[str, str] | None = None,
        clock: Any = time.monotonic,
    ) -> None:
        if not item_ids:
            raise ValueError(f"batch {batch_id} has no queue items to track")
        self.queue_id = queue_id
        self.batch_id = batch_id
        self.item_ids = sorted(item_ids)
        self._labels = dict(node_labels or {})
        self._clock = clock
        self._started: float = clock()
        self._items = {item_id: _ItemState(item_id) for item_id in self.item_ids}
        self._called: dict[int, CalledItem] = {}
        self.summaries: bool | None = None
        """Whether the server reads items without their sessions (None: not tried yet)."""

    @property
    def created(self) -> float:
        """The clock's time when the tracker was made (just after the enqueue)."""
        return self._started

    # Feeding ---------------------------------------------------------------------------------

    def concerns(self, event: Event) -> bool:
        return event.concerns(self._items.keys(), (self.batch_id,))

    def feed(self, event: Event) -> bool:
        """Take in an event; True when the owner should poll its unfinished items now (the queue
        was cleared). Items that ended are listed by ``needs_session()``."""
        if not self.concerns(event):
            return False
        if isinstance(event, QueueItemStatusChangedEvent) and isinstance(event.item_id, int):
            state = self._items.get(event.item_id)
            if state is None:
                return False
            self._status(state, event)
            return False
        if isinstance(event, InvocationErrorEvent) and isinstance(event.item_id, int):
            state = self._items.get(event.item_id)
            if state is not None:
                state.node_id = state.node_id or event.invocation_source_id
                reported = StatusReport(
                    status=state.report.status,
                    error_type=event.error_type,
                    error_message=event.error_message,
                    error_traceback=event.error_traceback,
                )
                state.report = _newer(reported, state.report)  # known errors win
            return False
        if isinstance(event, InvocationEvent) and isinstance(event.root_id, int):
            state = self._items.get(event.root_id)  # a called item's events count for its root
            if state is not None:
                state.ran = True
            if state is not None and state.status == "pending":
                state.report = state.report.model_copy(update={"status": "in_progress"})
            if state is not None and isinstance(event, InvocationCompleteEvent):
                state.record_image(event)
            return False
        if isinstance(event, QueueItemsCanceledEvent):
            for item_id in event.canceled_item_ids:
                state = self._items.get(item_id)
                if state is not None and not state.terminal:
                    self._end(state, "canceled")
            return False
        return isinstance(event, QueueClearedEvent)

    def feed_item(self, item: SessionQueueItem) -> None:
        """Take in a polled queue item (with its session, read after a terminal status)."""
        state = self._items.get(item.item_id)
        if state is None:
            return
        state.item = item
        self._status(state, item)
        session = item.session or {}
        errors: Mapping[str, Any] = session.get("errors") or {}
        if errors and state.node_id is None:
            prepared = next(iter(errors))
            state.node_id = (session.get("prepared_source_mapping") or {}).get(prepared, prepared)

    def feed_summary(self, summary: QueueItemSummary) -> None:
        """Take in a polled item's status, read without its session."""
        state = self._items.get(summary.item_id)
        if state is not None:
            self._status(state, summary)

    def item_deleted(self, item_id: int) -> None:
        """The item is gone from the queue (deleted or cleared): it ended as canceled."""
        state = self._items[item_id]
        if not state.terminal:
            state.deleted = True
            self._end(state, "canceled")

    def _status(
        self,
        state: _ItemState,
        update: QueueItemStatusChangedEvent | SessionQueueItem | QueueItemSummary,
    ) -> None:
        """Apply a status report unless the item already ended or the report is stale."""
        sequence = update.status_sequence if update.status_sequence is not None else -1
        if state.terminal or (sequence >= 0 and sequence < state.sequence):
            return
        state.sequence = max(sequence, state.sequence)
        state.session_id = update.session_id or state.session_id
        state.report = _newer(state.report, update)
        state.ran = state.ran or update.status == "in_progress" or update.started_at is not None
        if state.terminal:
            state.ended = self._clock()

    def _end(self, state: _ItemState, status: str) -> None:
        state.report = state.report.model_copy(update={"status": status})
        state.ended = self._clock()

    # Reading ---------------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """Every item reached a terminal status."""
        return all(s.terminal for s in self._items.values())

    @property
    def unfinished_ids(self) -> list[int]:
        return [i for i in self.item_ids if not self._items[i].terminal]

    def needs_session(self) -> list[int]:
        """Terminal items whose final queue item (session, results) has not been read yet."""
        return [i for i in self.item_ids if self._needs_session(self._items[i])]

    def unread_failures(self) -> list[int]:
        """Failed items whose final queue item (its session names the failing node) has not been
        read yet."""
        return [i for i in self.needs_session() if self._items[i].status == "failed"]

    def _needs_session(self, state: _ItemState) -> bool:
        """Ended and not read since; an item canceled before it started made nothing to read."""
        if not state.terminal or state.deleted:
            return False
        if state.status == "canceled" and not state.ran:
            return False
        return state.item is None or not state.item.is_terminal

    def canceled_while_running(self) -> list[int]:
        """Canceled items that had started and whose final session was not read since the
        server let go of them: the node running at the cancel may still save images."""
        return [
            i
            for i in self.item_ids
            if (state := self._items[i]).status == "canceled"
            and state.report.started_at is not None
            and not (state.deleted or state.settled)
        ]

    def last_update(self, item_id: int) -> str | None:
        """The server's ``updated_at`` of the item as last read."""
        item = self._items[item_id].item
        return item.updated_at if item is not None else None

    def mark_settled(self, item_ids: Sequence[int]) -> None:
        """The final sessions of these canceled items were read."""
        for item_id in item_ids:
            self._items[item_id].settled = True

    def reported_images(self) -> dict[str, str]:
        """Images the items' nodes reported as made (``invocation_complete``): name -> session
        id. A canceled item's stored session may not list them yet."""
        return {name: sid for state in self._items.values() for name, sid in state.images.items()}

    def reported_videos(self) -> dict[str, str]:
        """Videos the items' nodes reported as made: name -> session id."""
        return {name: sid for state in self._items.values() for name, sid in state.videos.items()}

    def record_called(self, called: CalledItem) -> None:
        """Keep a called item that ended (see :mod:`ivkgen.runtime._jobs.called_items`)."""
        self._called[called.item.item_id] = called

    def called_items(self) -> list[CalledItem]:
        """The ended items that ``call_saved_workflow`` nodes enqueued, by item id."""
        return [self._called[i] for i in sorted(self._called)]

    def queue_items(self) -> list[SessionQueueItem]:
        """The last polled queue item of each item (those polled at least once)."""
        return [s.item for s in (self._items[i] for i in self.item_ids) if s.item is not None]

    def job(self, item_id: int) -> Job:
        state = self._items[item_id]
        node_id = state.node_id
        return Job(
            **state.report.model_dump(),
            id=item_id,
            batch_id=self.batch_id,
            queue_id=self.queue_id,
            session_id=state.session_id,
            duration_seconds=self._duration(state),
            node_id=node_id,
            node_label=self._labels.get(node_id) if node_id else None,
        )

    def jobs(self) -> list[Job]:
        """One ``Job`` per item, by item id (the order the server runs them at equal priority)."""
        return [self.job(i) for i in self.item_ids]

    def _duration(self, state: _ItemState) -> float | None:
        busy = server_seconds(state.report.started_at, state.report.completed_at)
        if busy is not None:
            return busy
        return None if state.ended is None else state.ended - self._started

    def busy_seconds(self) -> list[float]:
        """The server's ``completed_at - started_at`` of each completed item, by item id."""
        states = (self._items[i] for i in self.item_ids)
        spans = (
            server_seconds(s.report.started_at, s.report.completed_at)
            for s in states
            if s.status == "completed"
        )
        return [span for span in spans if span is not None]

    def raise_for_status(self) -> None:
        """Raise ``JobFailedError`` for the first failed item, else ``JobCanceledError`` for the
        first canceled one; nothing when every item completed (or is still running)."""
        jobs = self.jobs()
        for job in jobs:
            if job.status == "failed":
                where = (
                    f" in node {job.node_label!r} ({job.node_id})"
                    if job.node_label
                    else (f" in node {job.node_id}" if job.node_id else "")
                )
                raise JobFailedError(
                    f"queue item {job.id} of batch {self.batch_id} failed{where}: "
                    f"{job.error_type}: {job.error_message}; fix that node's inputs and submit "
                    "again",
                    item_id=job.id,
                    batch_id=self.batch_id,
                    error_type=job.error_type,
                    error_message=job.error_message,
                    error_traceback=job.error_traceback,
                    node_id=job.node_id,
                    node_label=job.node_label,
                )
        for job in jobs:
            if job.status == "canceled":
                how = "deleted from the queue" if self._items[job.id].deleted else "canceled"
                raise JobCanceledError(
                    f"queue item {job.id} of batch {self.batch_id} was {how} before it completed",
                    item_id=job.id,
                    batch_id=self.batch_id,
                )

    def timeout_error(self, timeout: float, *, detail: str = "") -> JobTimeoutError:
        unfinished = self.unfinished_ids
        states = ", ".join(f"{i}: {self._items[i].status}" for i in unfinished)
        return JobTimeoutError(
            f"batch {self.batch_id}: queue items still unfinished after {timeout:g} s "
            f"({states}){detail}; wait longer, or cancel() the job",
            item_id=unfinished[0] if unfinished else None,
            batch_id=self.batch_id,
        )


def server_seconds(started_at: str | None, completed_at: str | None) -> float | None:
    """Seconds between two server timestamps; None unless both parse."""
    try:
        started, completed = map(datetime.fromisoformat, (started_at or "", completed_at or ""))
    except ValueError:
        return None
    return max(0.0, (completed - started).total_seconds())
