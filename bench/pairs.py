"""Two ways of making one image, timed in pairs on one server: the time each run takes outside
InvokeAI's own time for its queue item, and in wall time.

The runs of a pair go one after the other (a change of the machine's load meanwhile touches
both), each once the service's clean-up of the one before is done. The second run of a pair
takes longer on InvokeAI's side whichever it is, so the pairs alternate which goes first; each
run gets its own number, so no two runs share a node cache entry. A socket of the bench's own
hears each item end, with the server's timestamps.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from ivkgen.runtime import (
    AsyncInvokeAIClient,
    EventSocket,
    QueueItemStatusChangedEvent,
    SessionEvent,
)

Slot = Callable[[int], Awaitable[None]]
"""Makes one image, the run's number given (its values differ from every other run's)."""


@dataclass
class Timed:
    """Seconds per run of one slot: wall time, and the part outside InvokeAI's item time."""

    wall: list[float] = field(default_factory=list)
    outside: list[float] = field(default_factory=list)


def added_ms(tried: list[float], base: list[float]) -> float:
    """The median of each pair's difference, in ms."""
    return statistics.median([t - b for t, b in zip(tried, base, strict=True)]) * 1000


def _server_seconds(event: QueueItemStatusChangedEvent) -> float:
    """Seconds from the item's enqueue to its end, by the server's timestamps."""

    def moment(text: object) -> datetime:
        return datetime.strptime(str(text), "%Y-%m-%d %H:%M:%S.%f")

    return (moment(event.get("completed_at")) - moment(event.created_at)).total_seconds()


async def paired(
    client: AsyncInvokeAIClient,
    runs: int,
    base: Slot,
    tried: Slot,
    settle: Callable[[], Awaitable[None]],
) -> tuple[Timed, Timed]:
    """``runs`` pairs (after one that warms up) of ``base`` and ``tried``; ``settle`` returns
    once what a run left to do after its answer is done."""
    ended: list[QueueItemStatusChangedEvent] = []

    async def hear(socket: EventSocket) -> None:
        kinds = [SessionEvent.QUEUE_ITEM_STATUS_CHANGED]
        async for event in socket.listen_events(kinds=kinds):
            if isinstance(event, QueueItemStatusChangedEvent) and event.status == "completed":
                ended.append(event)

    async def timed(slot: Slot, number: int, into: Timed) -> None:
        started = time.perf_counter()
        await slot(number)
        into.wall.append(time.perf_counter() - started)
        while not ended:  # the bench's socket may hear the end after the run's client
            await asyncio.sleep(0.001)
        into.outside.append(into.wall[-1] - _server_seconds(ended.pop()))
        await settle()

    found = Timed(), Timed()
    socket = await client.event_socket()
    await socket.subscribe()
    hearing = asyncio.create_task(hear(socket))
    for pair in range(runs + 1):
        order = [(base, found[0]), (tried, found[1])]
        for offset, (slot, into) in enumerate(order[:: -1 if pair % 2 else 1]):
            await timed(slot, 2 * pair + offset, into)
    hearing.cancel()
    warm_base, warm_tried = (Timed(t.wall[1:], t.outside[1:]) for t in found)  # less the first pair
    return warm_base, warm_tried
