"""Which items go to which server, and when. Pure: no I/O, no clock.

Each server holds at most ``window`` items (pending or running in its own queue). When it
finishes items, it gets as many new ones, so each server is fed in proportion to what it
finishes: a server with two generation devices finishes twice as fast and is refilled twice as
often. A server seen with nothing pending while work waits gets a larger window. Nothing is sent
ahead of need: the rest of a sweep waits here, not in a server's queue.
"""

from __future__ import annotations

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
    ) -> None:
        if window < 1:
            raise ValueError(f"window must be at least 1, not {window}")
        if not servers:
            raise ValueError("a pool needs at least one server")
        self.waiting: deque[int] = deque(sorted(pending))
        self.slots = {name: Slot(name, window) for name in servers}
        self.max_window = max(window, max_window)
        self.finished: set[int] = set()
        self.failed: set[int] = set()

    # Sending ---------------------------------------------------------------------------------

    def take(self, server: str) -> list[int]:
        """The items to send to ``server`` now (the first waiting ones, up to its free room)."""
        slot = self.slots[server]
        room = slot.window - len(slot.holding)
        if not slot.live or room <= 0 or not self.waiting:
            return []
        taken = [self.waiting.popleft() for _ in range(min(room, len(self.waiting)))]
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

    def starved(self, server: str) -> None:
        """``server`` had nothing pending while work waited: give it a larger window."""
        slot = self.slots[server]
        if slot.live and not slot.full and self.waiting:
            slot.window = min(self.max_window, slot.window * 2)

    # Results ---------------------------------------------------------------------------------

    def done(self, server: str, index: int, *, failed: bool = False) -> None:
        """``index`` ended on ``server`` (completed, or failed: final either way)."""
        slot = self.slots[server]
        slot.holding.discard(index)
        slot.finished += 1
        slot.full = False
        (self.failed if failed else self.finished).add(index)

    def adopt(self, server: str, index: int) -> None:
        """``index`` is known to sit in ``server``'s queue (found again on resume)."""
        if index in self.waiting:
            self.waiting.remove(index)
        self.slots[server].holding.add(index)

    def requeue(self, server: str, indexes: Sequence[int]) -> None:
        """These items will not run on ``server`` (canceled there, or never enqueued)."""
        self.slots[server].holding.difference_update(indexes)
        self._wait_again(indexes)

    def drop(self, server: str, reason: str) -> list[int]:
        """``server`` stops answering: it gets no more work; its unfinished items wait again."""
        slot = self.slots[server]
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

    @property
    def live_servers(self) -> list[str]:
        return [name for name, slot in self.slots.items() if slot.live]

    def holding(self, server: str) -> set[int]:
        return self.slots[server].holding


__all__ = ["DEFAULT_WINDOW", "Scheduler", "Slot"]
