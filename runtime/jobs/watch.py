"""Following one submission in the background: events first, polling as the safety net.

``watch`` feeds a run's events to its ``JobTracker`` and calls the run's callbacks. It polls the
items once at start unless the subscription was made before the enqueue (else a job may have
ended before it); while the socket is down it polls as paced by :class:`.pacing.PollPacer`
(soon after the enqueue and after each change, close to the expected end, never more than
``poll_interval`` apart). With the socket up it polls after ``QUIET_POLL`` seconds without an
event, twice as long after each further silence up to ``SAFETY_POLL``, so a missed terminal
event costs a fraction of a second. It reads the final session of failed items (it names the
failing node) and, after a failure, waits up to ``ERROR_GRACE`` seconds for the
``invocation_error`` events, which the server sends after the failed status. The sessions of
completed items are read when their outputs are asked for.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ivkgen.runtime.events.messages import Event, InvocationErrorEvent
from ivkgen.runtime.events.socket import ConnectionChanged, EventSocket, Subscription
from ivkgen.runtime.jobs.pacing import PollPacer
from ivkgen.runtime.jobs.plans import Plan, poll_plan
from ivkgen.runtime.jobs.tracker import JobTracker, SubmitResult
from ivkgen.runtime.server.dto import SessionQueueItem

log = logging.getLogger("ivkgen.runtime.jobs.watch")

POLL_INTERVAL = 0.5
QUIET_POLL = 0.2
SAFETY_POLL = 5.0
ERROR_GRACE = 1.0

EventCallback = Callable[[Any], None]
Send = Callable[[Plan[Any]], Awaitable[Any]]


@dataclass(eq=False)
class Run:
    """One submission and everything tracking it."""

    result: SubmitResult
    tracker: JobTracker
    callbacks: dict[type[Event], EventCallback] = field(default_factory=dict)
    socket: EventSocket | None = None
    owns_socket: bool = False
    subscription: Subscription | None = None
    watcher: asyncio.Task[None] | None = None
    busy_history: list[float] = field(default_factory=list)
    """Busy seconds of earlier items of the same handle, to pace the polls by."""

    def pacer(self, longest: float) -> PollPacer:
        """A pacer for polling this run's items at most ``longest`` seconds apart."""
        return PollPacer(longest, self.busy_history, enqueued_at=self.tracker.created)


async def watch(
    run: Run, send: Send, poll_interval: float = POLL_INTERVAL, *, poll_first: bool = True
) -> None:
    """Follow a run until every item ended; ``send`` runs plans. ``poll_first=False`` when the
    run's subscription was made before its items were enqueued."""
    tracker, subscription = run.tracker, run.subscription
    pacer = run.pacer(poll_interval)
    quiet = QUIET_POLL
    items: list[SessionQueueItem] = []
    try:
        if poll_first:
            items = await send(poll_plan(tracker, tracker.item_ids))
        while not tracker.done:
            live = subscription is not None and run.socket is not None and run.socket.connected
            if subscription is None or not live:
                pause = pacer.pause(items)
                if subscription is None or subscription.closed:
                    await asyncio.sleep(pause)
                else:  # wakes up early when the socket reconnects
                    await subscription.get(timeout=pause)
                items = await send(poll_plan(tracker, tracker.unfinished_ids))
                continue
            message = await subscription.get(timeout=quiet)
            if message is None or isinstance(message, ConnectionChanged):
                quiet = min(2 * quiet, SAFETY_POLL) if message is None else QUIET_POLL
                items = await send(poll_plan(tracker, tracker.unfinished_ids))
                continue
            quiet = QUIET_POLL
            if tracker.feed(message):
                await send(poll_plan(tracker, tracker.unfinished_ids))
            dispatch(run, message)
        await send(poll_plan(tracker, tracker.unread_failures()))
        if subscription is not None:
            await _drain_errors(run, subscription)
    finally:
        if subscription is not None:
            subscription.close()
        if run.owns_socket and run.socket is not None:
            await run.socket.close()


async def _drain_errors(run: Run, subscription: Subscription) -> None:
    """Deliver the ``invocation_error`` events that follow a failed status, for a short while."""
    waiting = {job.id for job in run.tracker.jobs() if job.status == "failed"}
    deadline = time.monotonic() + ERROR_GRACE
    while waiting and (remaining := deadline - time.monotonic()) > 0:
        message = await subscription.get(timeout=remaining)
        if message is None and subscription.closed:
            return
        if isinstance(message, Event):
            run.tracker.feed(message)
            dispatch(run, message)
            if isinstance(message, InvocationErrorEvent):
                waiting.discard(message.item_id)


def dispatch(run: Run, event: Event) -> None:
    """Call the run's callback for this kind of event; a callback's error is logged."""
    callback = run.callbacks.get(type(event))
    if callback is None:
        return
    try:
        callback(event)
    except Exception:
        log.exception("the %s callback of batch %s raised", event.type, run.result.batch_id)


__all__ = [
    "ERROR_GRACE",
    "POLL_INTERVAL",
    "QUIET_POLL",
    "SAFETY_POLL",
    "EventCallback",
    "Run",
    "dispatch",
    "watch",
]
