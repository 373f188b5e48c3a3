"""What each InvokeAI server's event socket says about the service's runs: node started,
progress and completed become run events, an output node's image is fetched at once, and a
queue item that ended wakes the run's follower, with the item itself when the socket heard all
of it (it polls as well, so a socket that drops loses nothing but speed)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from ivkgen.runtime._client import AsyncInvokeAIClient
from ivkgen.runtime._events.heard import HeardItems
from ivkgen.runtime._events.messages import (
    Event,
    InvocationCompleteEvent,
    InvocationErrorEvent,
    InvocationEvent,
    InvocationProgressEvent,
    InvocationStartedEvent,
    QueueItemStatusChangedEvent,
    SessionEvent,
)
from ivkgen.runtime._events.socket import ConnectionChanged
from ivkgen.runtime._repositories.queue import DEFAULT_QUEUE
from ivkgen.runtime._server.dto import TERMINAL_STATUSES, SessionQueueItem

log = logging.getLogger("ivkgen.service")

KINDS = (
    SessionEvent.INVOCATION_STARTED,
    SessionEvent.INVOCATION_PROGRESS,
    SessionEvent.INVOCATION_COMPLETE,
    SessionEvent.INVOCATION_ERROR,
    SessionEvent.QUEUE_ITEM_STATUS_CHANGED,
)
RECONNECT_SECONDS = 5.0
SUBSCRIBE_SECONDS = 5.0
"""How long start-up waits for every server's socket to subscribe or fail (then runs are
polled)."""

Lookup = Callable[[str, int, "str | None"], "Follower | None"]
"""The follower of a server's queue item (by its id, or its batch id before the id is known)."""
Publish = Callable[[str, str, dict[str, Any]], Awaitable[None]]


class Follower(Protocol):
    """What the events need of a run's follower: its id and what its item does (runs, saves
    an output, ends: the follower wakes at once)."""

    run_id: str

    async def mark_running(self, server: str) -> None: ...

    def item_ended(self, server: str, item_id: int, heard: SessionQueueItem | None) -> None: ...

    def node_completed(self, server: str, event: InvocationCompleteEvent) -> None: ...


def node_event(event: InvocationEvent) -> tuple[str, dict[str, Any]] | None:
    """The run event of a node's event (a progress preview image is left out)."""
    data: dict[str, Any] = {"node_id": event.node_id, "node_type": event.node_type}
    if isinstance(event, InvocationStartedEvent):
        return "node_started", data
    if isinstance(event, InvocationProgressEvent):
        return "node_progress", {**data, "progress": event.percentage, "message": event.message}
    if isinstance(event, InvocationCompleteEvent):
        return "node_completed", data
    if isinstance(event, InvocationErrorEvent):
        return "node_failed", {**data, "error": f"{event.error_type}: {event.error_message}"}
    return None


class NodeEvents:
    """One listening task per server (see the module docstring)."""

    def __init__(
        self, clients: Mapping[str, AsyncInvokeAIClient], lookup: Lookup, publish: Publish
    ) -> None:
        self.clients = clients
        self.lookup = lookup
        self.publish = publish
        self._tasks: list[asyncio.Task[None]] = []
        self._tried = {name: asyncio.Event() for name in clients}
        """Set once the server's socket subscribed, or failed to."""

    async def start(self) -> None:
        """Listen on every server's socket; return once each subscribed or failed to (or
        after ``SUBSCRIBE_SECONDS``), so the events of the first runs are not missed."""
        self._tasks = [
            asyncio.create_task(self._listen(name, client), name=f"events of {name}")
            for name, client in self.clients.items()
        ]
        waits = [event.wait() for event in self._tried.values()]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*waits), SUBSCRIBE_SECONDS)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _listen(self, server: str, client: AsyncInvokeAIClient) -> None:
        while True:
            try:
                socket = await client.event_socket()
                await socket.subscribe(DEFAULT_QUEUE)
                subscription = socket.listen_events(kinds=KINDS)
                self._tried[server].set()
                heard = HeardItems()
                while (message := await subscription.get()) is not None:
                    if isinstance(message, ConnectionChanged):
                        heard.forget()
                    else:
                        await self._take(server, message, heard)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a socket that fails: the followers poll meanwhile
                log.info("event socket of %s: %s; polling only for now", server, exc)
                self._tried[server].set()
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _take(self, server: str, event: Event, heard: HeardItems) -> None:
        item_id = getattr(event, "item_id", None)
        if not isinstance(item_id, int):
            return
        follower = self.lookup(server, item_id, getattr(event, "batch_id", None))
        if follower is None:
            return
        item = heard.take(event)
        if isinstance(event, QueueItemStatusChangedEvent):
            if event.status == "in_progress":
                await follower.mark_running(server)
            if event.status in TERMINAL_STATUSES:
                follower.item_ended(server, item_id, item)
            return
        if isinstance(event, InvocationEvent):
            await follower.mark_running(server)
            if isinstance(event, InvocationCompleteEvent):
                follower.node_completed(server, event)
            found = node_event(event)
            if found is not None:
                await self.publish(follower.run_id, *found)


__all__ = ["Follower", "NodeEvents", "node_event"]
