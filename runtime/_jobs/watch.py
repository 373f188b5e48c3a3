"""Following one submission: one poll loop, driven blocking or awaited with the run's events.

:func:`listen` is where tracking gets its socket: the one given, else the one the client lends
(``lease_event_socket``); it subscribes to the queue and to the batch's events, and gives up
(``None``: poll only) when the socket cannot be had.

:func:`watch_plan` is the loop, a plan like the others: it polls the items once at start unless
the subscription was made before the enqueue (else a job may have ended before it); while the
socket is down (or without one) it polls as paced by :class:`.pacing.PollPacer` (soon after the
enqueue and after each change, close to the expected end, never more than ``poll_interval``
apart). With the socket up it feeds the run's events to its ``JobTracker``, calls the run's
callbacks, and polls after ``QUIET_POLL`` seconds without an event, twice as long after each
further silence up to ``SAFETY_POLL``, so a missed terminal event costs a fraction of a second.
It reads the final session of failed items (it names the failing node) and, after a failure,
waits up to ``ERROR_GRACE`` seconds for the ``invocation_error`` events, which the server sends
after the failed status. The sessions of completed items are read when their outputs are asked
for. ``drive_sync`` runs it blocking (its ``NextEvent`` pauses sleep); :func:`watch` awaits it
in the background, its pauses listening to the subscription.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from ivkgen.runtime._errors import IvkgenError
from ivkgen.runtime._events.messages import (
    Event,
    InvocationCompleteEvent,
    InvocationErrorEvent,
    InvocationProgressEvent,
    InvocationStartedEvent,
)
from ivkgen.runtime._events.socket import ConnectionChanged, EventSocket, SocketLease, Subscription
from ivkgen.runtime._jobs.clients import AnyClient
from ivkgen.runtime._jobs.pacing import PollPacer
from ivkgen.runtime._jobs.plans import Pause, Plan, drive, follow_plan, poll_plan
from ivkgen.runtime._jobs.tracker import Job, JobTracker, SubmitResult
from ivkgen.runtime._server.core import Call
from ivkgen.runtime._server.dto import PolledItem, SessionQueueItem

log = logging.getLogger("ivkgen.runtime._jobs.watch")

POLL_INTERVAL = 0.5
QUIET_POLL = 0.2
SAFETY_POLL = 5.0
ERROR_GRACE = 1.0

EventCallback = Callable[[Any], None]


@dataclass(eq=False)
class Tracking:
    """A subscription to one batch's events and the socket it listens on."""

    lease: SocketLease
    subscription: Subscription

    @property
    def live(self) -> bool:
        """Whether events arrive now (the socket is connected)."""
        return self.lease.socket.connected

    async def close(self) -> None:
        self.subscription.close()
        await self.lease.release()


async def listen(
    client: AnyClient,
    queue_id: str,
    batch_id: str,
    item_ids: Sequence[int] = (),
    socket: EventSocket | None = None,
) -> Tracking | None:
    """Subscribe to the events of one batch (and of ``item_ids``) on ``socket``, else on the
    socket ``client`` lends; ``None`` when no socket can be had (the job is then polled)."""
    lease: SocketLease | None = None
    try:
        lease = SocketLease(socket, owned=False) if socket else await client.lease_event_socket()
        await lease.socket.subscribe(queue_id)
    except (IvkgenError, OSError, TimeoutError) as exc:
        log.warning("event socket unavailable, tracking by polling: %s", exc)
        if lease is not None:
            await lease.release()
        return None
    subscription = lease.socket.listen_events(batch_ids=[batch_id], item_ids=item_ids or None)
    return Tracking(lease, subscription)


@dataclass(eq=False)
class Run:
    """One submission and everything tracking it."""

    result: SubmitResult
    tracker: JobTracker
    callbacks: dict[type[Event], EventCallback] = field(default_factory=dict)
    tracking: Tracking | None = None
    watcher: asyncio.Task[None] | None = None
    busy_history: list[float] = field(default_factory=list)
    """Busy seconds of earlier items of the same handle, to pace the polls by."""
    sent_at: float | None = None
    """``time.monotonic()`` when the submission was sent (the server may answer it only after
    running the item for a while); the pacer counts the items' times from it."""

    def pacer(self, longest: float) -> PollPacer:
        """A pacer for polling this run's items at most ``longest`` seconds apart."""
        sent = self.tracker.created if self.sent_at is None else self.sent_at
        return PollPacer(longest, self.busy_history, enqueued_at=sent)

    def start_watching(
        self, client: AnyClient, tracking: Tracking | None, *, poll_first: bool = True
    ) -> None:
        """Follow the run in a background task; ``poll_first=False`` when ``tracking`` was
        subscribed before the items were enqueued."""
        if tracking is not None:
            tracking.subscription.add_item_ids(self.result.item_ids)
        self.tracking = tracking
        self.watcher = asyncio.create_task(
            watch(self, client, poll_first=poll_first), name=f"ivkgen watch {self.result.batch_id}"
        )

    async def finished(self, timeout: float) -> Job:
        """Wait for the watcher; the first item's ``Job``, or the error of a failed, canceled
        or unfinished item (the run goes on after a timeout)."""
        if self.watcher is None:
            raise RuntimeError("the run is not watched: call start_watching() first")
        try:
            await asyncio.wait_for(asyncio.shield(self.watcher), timeout)
        except TimeoutError:
            raise self.tracker.timeout_error(timeout) from None
        self.tracker.raise_for_status()
        return self.tracker.job(self.result.item_ids[0])

    async def stop_watching(self) -> None:
        """Cancel the watcher if it still runs."""
        if self.watcher is not None and not self.watcher.done():
            self.watcher.cancel()
            await asyncio.gather(self.watcher, return_exceptions=True)


@dataclass(frozen=True)
class NextEvent(Pause):
    """Yielded by a watch plan: a pause that the run's subscription ends early with its next
    message, which the plan receives (None after a plain pause: no subscription, or none open)."""


def watch_plan(
    run: Run,
    poll_interval: float = POLL_INTERVAL,
    *,
    poll_first: bool = True,
    timeout: float | None = None,
    progress_callback: Callable[[SessionQueueItem], None] | None = None,
) -> Plan[None]:
    """Follow a run until every item ended: the one poll loop, driven blocking (``drive_sync``:
    its pauses sleep) or awaited (:func:`watch`: its pauses listen to the run's events).

    ``timeout`` raises ``JobTimeoutError`` once that many seconds passed (the awaited watch is
    bounded by its waiter instead); ``progress_callback`` gets each polled item whole."""
    tracker, tracking = run.tracker, run.tracking
    pacer = run.pacer(poll_interval)
    deadline = None if timeout is None else time.monotonic() + timeout
    quiet = QUIET_POLL
    items: list[PolledItem] = []

    def poll(item_ids: Sequence[int]) -> Plan[list[PolledItem]]:
        if progress_callback is None:
            return (yield from follow_plan(tracker, item_ids))
        whole = yield from poll_plan(tracker, item_ids)
        for item in whole:
            progress_callback(item)
        return list(whole)

    if poll_first:
        items = yield from poll(tracker.item_ids)
    while not tracker.done:
        if tracking is None or not tracking.live:
            pause = pacer.pause(items)
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise tracker.timeout_error(cast(float, timeout))
                pause = min(pause, remaining)
            yield NextEvent(pause)  # with a subscription, the socket's return ends it early
            items = yield from poll(tracker.unfinished_ids)
            continue
        message = yield NextEvent(quiet)
        if message is None or isinstance(message, ConnectionChanged):
            quiet = min(2 * quiet, SAFETY_POLL) if message is None else QUIET_POLL
            items = yield from poll(tracker.unfinished_ids)
            continue
        quiet = QUIET_POLL
        if tracker.feed(message):
            yield from poll(tracker.unfinished_ids)
        dispatch(run, message)
    yield from poll_plan(tracker, tracker.unread_failures())
    if tracking is not None:
        yield from _error_events(run)


def _error_events(run: Run) -> Plan[None]:
    """Deliver the ``invocation_error`` events that follow a failed status, for a short while."""
    waiting = {job.id for job in run.tracker.jobs() if job.status == "failed"}
    deadline = time.monotonic() + ERROR_GRACE
    while waiting and (remaining := deadline - time.monotonic()) > 0:
        message = yield NextEvent(remaining)
        if message is None and (run.tracking is None or run.tracking.subscription.closed):
            return
        if isinstance(message, Event):
            run.tracker.feed(message)
            dispatch(run, message)
            if isinstance(message, InvocationErrorEvent):
                waiting.discard(message.item_id)


async def watch(
    run: Run, client: AnyClient, poll_interval: float = POLL_INTERVAL, *, poll_first: bool = True
) -> None:
    """Drive :func:`watch_plan` with ``client``, its pauses listening to the run's subscription;
    the subscription is closed at the end."""
    plan, tracking = watch_plan(run, poll_interval, poll_first=poll_first), run.tracking
    subscription = tracking.subscription if tracking is not None else None
    try:
        step = next(plan)
        while True:
            try:
                if isinstance(step, NextEvent) and subscription and not subscription.closed:
                    answer = await subscription.get(timeout=step.seconds)
                else:
                    answer = await drive(_one(step), client)
            except Exception as exc:
                step = plan.throw(exc)
                continue
            step = plan.send(answer)
    except StopIteration:
        return
    finally:
        if tracking is not None:
            await tracking.close()


def _one(step: Call[Any] | Pause) -> Plan[Any]:
    """A plan of one step, to drive it as the plans are driven."""
    return (yield step)


def invocation_callbacks(
    started: EventCallback | None,
    progress: EventCallback | None,
    complete: EventCallback | None,
    error: EventCallback | None,
) -> dict[type[Event], EventCallback]:
    """The callbacks given, by the kind of invocation event each receives."""
    callbacks: dict[type[Event], EventCallback | None] = {
        InvocationStartedEvent: started,
        InvocationProgressEvent: progress,
        InvocationCompleteEvent: complete,
        InvocationErrorEvent: error,
    }
    return {kind: callback for kind, callback in callbacks.items() if callback is not None}


def dispatch(run: Run, event: Event) -> None:
    """Call the run's callback for this kind of event; a callback's error is logged."""
    callback = run.callbacks.get(type(event))
    if callback is None:
        return
    try:
        callback(event)
    except Exception:
        log.exception("the %s callback of batch %s raised", event.type, run.result.batch_id)
