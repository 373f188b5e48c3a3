"""Queue items that ``call_saved_workflow`` nodes enqueue (InvokeAI 6.14).

A parent item that reaches a ``call_saved_workflow`` node goes ``waiting``; the server enqueues one
child item per execution of the saved workflow, in the parent's batch, with ``parent_item_id`` set,
and the parent's session lists their ids: in ``waiting_workflow_call_execution.child_item_ids``
while it waits, then in ``workflow_call_history[].child_item_ids`` (with ``source_call_node_id``,
the call node). A child can call further workflows: its own session lists its children the same way.

The children are not in the enqueue result, so their outputs and their clean-up are found by reading
these lists once their parent ended (:func:`called_items_plan`, run by :func:`final_sessions_plan`).
Canceling or deleting the caller cancels or deletes its whole chain on the server.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ivkgen.runtime._errors import NotFoundError
from ivkgen.runtime._jobs.plans import Plan, poll_plan, queue_ops
from ivkgen.runtime._jobs.tracker import CalledItem, JobTracker
from ivkgen.runtime._repositories.queue import QueueOps
from ivkgen.runtime._server.dto import SessionQueueItem


def called_item_ids(session: Mapping[str, Any]) -> Iterator[tuple[int, str]]:
    """``(child item id, call node id)`` of every item the session's call nodes enqueued."""
    executions = list(session.get("workflow_call_history") or [])
    waiting = session.get("waiting_workflow_call_execution")
    if isinstance(waiting, Mapping):
        executions.append(waiting)
    for execution in executions:
        if not isinstance(execution, Mapping):
            continue
        call_node = str(execution.get("source_call_node_id", ""))
        for item_id in execution.get("child_item_ids") or []:
            if isinstance(item_id, int):
                yield item_id, call_node


def called_items_plan(tracker: JobTracker) -> Plan[list[CalledItem]]:
    """Read the items the tracker's ended items called, and theirs, into the tracker; an item
    still running is read again next time. Items gone from the queue are skipped."""
    known = {called.item.item_id for called in tracker.called_items()}
    pending: list[tuple[SessionQueueItem, str | None]] = [
        (item, None) for item in tracker.queue_items() if item.is_terminal
    ]
    pending += [(called.item, called.called_by) for called in tracker.called_items()]
    queue = queue_ops(tracker.queue_id)
    while pending:
        parent, root_call = pending.pop()
        for item_id, call_node in called_item_ids(parent.session or {}):
            if item_id in known:
                continue
            try:
                child: SessionQueueItem = yield QueueOps.get_queue_item.call(queue, item_id)
            except NotFoundError:
                known.add(item_id)
                continue
            if not child.is_terminal:
                continue
            known.add(item_id)
            called = CalledItem(child, root_call or call_node)
            tracker.record_called(called)
            pending.append((child, called.called_by))
    return tracker.called_items()


def final_sessions_plan(tracker: JobTracker) -> Plan[None]:
    """Read the final session of items that ended but were not read since, then the items their
    ``call_saved_workflow`` nodes enqueued."""
    yield from poll_plan(tracker, tracker.needs_session())
    yield from called_items_plan(tracker)
