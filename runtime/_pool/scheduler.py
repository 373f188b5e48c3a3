"""Which items go to which server, and when. Pure: no I/O, no clock.

Each server holds at most ``window`` items (pending or running in its own queue). When it finishes
items, it gets as many new ones, so each server is fed in proportion to what it finishes: a server
with two generation devices finishes twice as fast and is refilled twice as often. A server seen
with nothing pending while work waits gets a larger window, and so does one that finishes items
faster than the pool means to step it (``at_least``). No server holds more than its share of the
unfinished items (waiting or held), in proportion to how many it finished so far, so the last items
of a run are spread to end about together instead of piling up on the servers that asked first.
Nothing is sent ahead of need: the rest of a sweep waits here, not in a server's queue.

A *retired* server (one the ledger of a resumed run names, no longer among the run's servers) keeps
the items it already holds until they end there, and takes no new ones.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

DEFAULT_WINDOW = 4
MAX_WINDOW = 256


@dataclass
class Slot:
    """One server's share of the run."""

    name: str
    window: int
    holding: set[int] = field(default_factory=set)
    finished: int = 0
    dropped: str | None = None
    """Why the server was dropped (``None`` while it takes work)."""
    full: bool = False
    """Its queue refused items (``enqueued < requested``): it gets more only when it finishes."""
    limited: bool = False
    """Its queue refused items at least once: its window grows only when it starves."""
    retired: bool = False
    """Not among the run's servers: it keeps what it holds and takes nothing new."""

    @property
    def live(self) -> bool:
        return self.dropped is None


class Scheduler:
    """The waiting items of a run and each server's share; items are indexes ``0..count-1``."""

    def __init__(
        self,
        pending: Iterable[int],
        servers: Sequence[str],
        *,
        window: int = DEFAULT_WINDOW,
        max_window: int = MAX_WINDOW,
        retired: Sequence[str] = (),
    ) -> None:
        if window < 1:
            raise ValueError(f"window must be at least 1, not {window}")
        if not servers:
            raise ValueError("a pool needs at least one server")
        self.waiting: deque[int] = deque(sorted(pending))
        self.slots = {name: Slot(name, window) for name in servers}
        for name in retired:
            self.slots[name] = Slot(name, window, retired=True)
        self.max_window = max(window, max_window)
        self.finished: set[int] = set()
        self.failed: set[int] = set()
        self.takers = len(servers)
        """How many servers still take work (live and not retired)."""

    # Sending ---------------------------------------------------------------------------------

    def take(self, server: str) -> list[int]:
        """The items to send to ``server`` now: the first waiting ones, up to its free room and
        to its share of the unfinished items."""
        slot = self.slots[server]
        room = slot.window - len(slot.holding)
        if not slot.live or slot.retired or room <= 0 or not self.waiting:
            return []
        takers = [s for s in self.slots.values() if s.live and not s.retired]
        unfinished = len(self.waiting) + sum(len(s.holding) for s in takers)
        weight = (slot.finished + 1) / sum(s.finished + 1 for s in takers)
        share = math.ceil(unfinished * weight) - len(slot.holding)
        taken = [self.waiting.popleft() for _ in range(min(room, share, len(self.waiting)))]
        slot.holding.update(taken)
        return taken

    def refused(self, server: str, indexes: Sequence[int]) -> None:
        """``server``'s queue took only some of a send: these wait again (first in line), and
        its window shrinks to what it holds until it finishes items."""
        slot = self.slots[server]
        slot.holding.difference_update(indexes)
        self._wait_again(indexes)
        slot.full = bool(indexes)
        if indexes:
            slot.window = max(1, len(slot.holding))
            slot.limited = True

    def starved(self, server: str) -> None:
        """``server`` had nothing pending while work waited: give it a larger window."""
        slot = self.slots[server]
        if slot.live and not slot.full and not slot.retired and self.waiting:
            slot.window = min(self.max_window, slot.window * 2)

    def at_least(self, server: str, window: int) -> None:
        """Let ``server`` hold at least ``window`` items (up to the largest window), unless its
        queue ever refused items."""
        slot = self.slots[server]
        if slot.live and not slot.limited and not slot.retired:
            slot.window = max(slot.window, min(self.max_window, window))

    # Results ---------------------------------------------------------------------------------

    def done(self, server: str, index: int, *, failed: bool = False) -> None:
        """``index`` ended on ``server`` (completed, or failed: final either way)."""
        slot = self.slots[server]
        slot.holding.discard(index)
        slot.finished += 1
        slot.full = False
        (self.failed if failed else self.finished).add(index)

    def requeue(self, server: str, indexes: Sequence[int]) -> None:
        """These items will not run on ``server`` (canceled there, or never enqueued)."""
        self.slots[server].holding.difference_update(indexes)
        self._wait_again(indexes)

    def drop(self, server: str, reason: str) -> list[int]:
        """``server`` stops answering: it gets no more work; its unfinished items wait again."""
        slot = self.slots[server]
        if slot.live and not slot.retired:
            self.takers -= 1
        slot.dropped = reason
        back = sorted(slot.holding)
        slot.holding.clear()
        self._wait_again(back)
        return back

    def _wait_again(self, indexes: Sequence[int]) -> None:
        self.waiting.extendleft(sorted(indexes, reverse=True))

    # Reading ---------------------------------------------------------------------------------

    @property
    def complete(self) -> bool:
        """Nothing waits and no server holds anything."""
        return not self.waiting and not any(s.holding for s in self.slots.values())

    def holding(self, server: str) -> set[int]:
        return self.slots[server].holding
