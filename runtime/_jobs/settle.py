"""Wait for the truth after a cancel, before cleaning up what a canceled job made.

Canceling an item marks it ``canceled`` at once, but InvokeAI lets the node that is running
finish: it may save an image after the cancel, and the server writes the item's final session
(which lists that image) only when the worker lets go of the item. ``late_outputs_plan`` waits
for that moment and reads the final sessions, so clean-up sees every image the job made.

The worker has let go of an item when the item's ``updated_at`` moved past the value read at
the cancel (the final session write updates it), when the processor is idle, or when it runs
another item. The wait is bounded: after ``timeout`` seconds clean-up goes on with what it knows.
"""

from __future__ import annotations

import logging
import time

from ivkgen.runtime._jobs.plans import Pause, Plan, poll_plan, status_plan
from ivkgen.runtime._jobs.tracker import JobTracker
from ivkgen.runtime._server.dto import QueueAndProcessorStatus
from ivkgen.runtime._timeouts import SETTLE_TIMEOUT

log = logging.getLogger("ivkgen.runtime._jobs.settle")

SETTLE_INTERVAL = 0.2


def late_outputs_plan(
    tracker: JobTracker, timeout: float = SETTLE_TIMEOUT, interval: float = SETTLE_INTERVAL
) -> Plan[None]:
    """Wait until the server let go of the tracker's items canceled while running, then read
    their final sessions into the tracker."""
    waiting = tracker.canceled_while_running()
    if not waiting:
        return
    at_cancel = {item_id: tracker.last_update(item_id) for item_id in waiting}
    deadline = time.monotonic() + timeout
    while True:
        status = yield from status_plan(tracker.queue_id)
        idle = _processor_let_go(status, waiting)
        items = yield from poll_plan(tracker, waiting)
        written = {i.item_id for i in items if i.updated_at != at_cancel[i.item_id]}
        gone = set(waiting) - {i.item_id for i in items}
        if idle or written | gone >= set(waiting):
            break
        if time.monotonic() >= deadline:
            log.warning(
                "queue item(s) %s still running %.0f s after the cancel; cleaning up what is known",
                ", ".join(map(str, waiting)),
                timeout,
            )
            break
        yield Pause(interval)
    tracker.mark_settled(waiting)


def _processor_let_go(status: QueueAndProcessorStatus, item_ids: list[int]) -> bool:
    """The processor is idle, or runs an item that is not one of ``item_ids``."""
    current = status.queue.item_id
    return not status.processor.is_processing or (current is not None and current not in item_ids)
