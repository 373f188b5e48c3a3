"""Run events: recorded in the store (numbered per run), announced to waiting readers, and
streamed as Server-Sent Events that a client resumes with ``Last-Event-ID``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from ivkgen.service.store import FINAL_STATUSES, RunStore, StoredEvent

KEEP_ALIVE_SECONDS = 15.0


class EventHub:
    """Records run events and wakes the readers waiting for them."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self._latest: dict[str, int] = {}
        self._arrivals: dict[str, asyncio.Event] = {}
        """Run id -> the event its readers wait on, set (and dropped) by the run's next event."""
        self.closed = False

    async def publish(self, run_id: str, type_: str, data: dict[str, Any]) -> StoredEvent:
        event = self.store.add_event(run_id, type_, data)
        await self.announce(run_id, event.seq)
        return event

    async def announce(self, run_id: str, seq: int) -> None:
        """Wake the readers of ``run_id``: its event ``seq`` is in the store (recorded here or,
        with a shared store, by another replica)."""
        self._latest[run_id] = max(seq, self._latest.get(run_id, 0))
        arrival = self._arrivals.pop(run_id, None)
        if arrival is not None:
            arrival.set()

    async def wait_after(self, run_id: str, seq: int, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for an event of ``run_id`` numbered above ``seq``;
        whether one came (False too when the hub closed)."""
        if not self.closed and self._latest.get(run_id, 0) <= seq:
            arrival = self._arrivals.setdefault(run_id, asyncio.Event())
            try:
                async with asyncio.timeout(timeout):  # wakes at the loop's next turn
                    await arrival.wait()
            except TimeoutError:
                return False
        return not self.closed

    async def close(self) -> None:
        """Wake every reader: the service stops."""
        self.closed = True
        for arrival in self._arrivals.values():
            arrival.set()
        self._arrivals.clear()

    async def stream(self, run_id: str, after: int) -> AsyncIterator[str]:
        """The run's events numbered above ``after`` as SSE messages, until its final one."""
        while True:
            for event in self.store.events_after(run_id, after):
                after = event.seq
                yield sse_message(event)
                if event.type in FINAL_STATUSES:
                    return
            if self.closed:
                return
            if not await self.wait_after(run_id, after, KEEP_ALIVE_SECONDS) and not self.closed:
                yield ": keep-alive\n\n"


def sse_message(event: StoredEvent) -> str:
    data = json.dumps({"run_id": event.run_id, **event.data}, separators=(",", ":"))
    return f"id: {event.seq}\nevent: {event.type}\ndata: {data}\n\n"


def last_event_id(header: str | None) -> int:
    """The number a client's ``Last-Event-ID`` header names (0: from the start)."""
    try:
        return max(0, int((header or "0").strip()))
    except ValueError:
        return 0


__all__ = ["EventHub", "last_event_id", "sse_message"]
