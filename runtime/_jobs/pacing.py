"""When to poll next, from what the server reported: soon after the enqueue and after every status
change, then backing off; close to the expected end of a running item.

The expected busy time of an item is the shortest of the recent ones the server recorded
(``completed_at - started_at`` of the run's own completed items and of the runs before it on the
same handle). A running item is first polled at ``EARLY`` of that time after it started (its
``started_at - created_at`` counted from the local time of the enqueue, or when it was first seen
running if that is earlier), then ever less often. The pauses never exceed ``longest``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

from ivkgen.runtime._jobs.tracker import JobTracker, server_seconds
from ivkgen.runtime._server.dto import PolledItem

FIRST = 0.01
"""Seconds to the first poll after the enqueue, a status change or the expected end."""
GROWTH = 1.4
"""Each pause without news is this much longer than the one before."""
EARLY = 0.9
"""Share of the expected busy time after which a running item is polled closely."""
HISTORY = 8
"""How many of the latest busy times the expectation draws on."""


def recent_busy_seconds(trackers: Sequence[JobTracker]) -> list[float]:
    """Busy seconds of the latest completed items of these trackers, oldest first."""
    seconds: list[float] = []
    for tracker in trackers[-HISTORY:]:
        seconds += tracker.busy_seconds()
    return seconds[-HISTORY:]


class PollPacer:
    """Pauses between the polls of one run; ``pause(items)`` takes what the last poll read."""

    def __init__(
        self,
        longest: float,
        busy_seconds: Iterable[float] = (),
        *,
        enqueued_at: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``enqueued_at``: the ``clock`` time of the enqueue (default: now)."""
        self.longest = longest
        self._busy = list(busy_seconds)[-HISTORY:]
        self._clock = clock
        self._enqueued = clock() if enqueued_at is None else enqueued_at
        self._step = min(FIRST, longest)
        self._seen: dict[int, tuple[str, int | None]] = {}
        self._running_since: dict[int, float] = {}

    def pause(self, items: Iterable[PolledItem]) -> float:
        """Seconds to wait before the next poll."""
        now = self._clock()
        if self._take(items, now):
            self._step = min(FIRST, self.longest)
        due = self._expected_end()
        if due is not None and due - now > self._step:
            self._step = min(FIRST, self.longest)
            return min(due - now, self.longest)
        pause = self._step
        self._step = min(pause * GROWTH, self.longest)
        return pause

    def _take(self, items: Iterable[PolledItem], now: float) -> bool:
        """Note the items' statuses; True when any changed since the last poll."""
        changed = False
        for item in items:
            key = (item.status, item.status_sequence)
            if self._seen.get(item.item_id) == key:
                continue
            changed = True
            self._seen[item.item_id] = key
            if item.status == "in_progress":
                waited = server_seconds(item.created_at, item.started_at)
                since = now if waited is None else min(now, self._enqueued + waited)
                self._running_since[item.item_id] = since
                continue
            self._running_since.pop(item.item_id, None)
            busy = server_seconds(item.started_at, item.completed_at)
            if item.status == "completed" and busy is not None:
                self._busy = [*self._busy, busy][-HISTORY:]
        return changed

    def _expected_end(self) -> float | None:
        """When the next running item should end, by the shortest recent busy time."""
        if not self._busy or not self._running_since:
            return None
        return min(self._running_since.values()) + EARLY * min(self._busy)
