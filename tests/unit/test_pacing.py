"""Poll pacing: soon after the enqueue and after each change, then backing off; near the
expected end of a running item; never longer than the longest pause."""

from __future__ import annotations

import pytest
from ivkgen.runtime._jobs.pacing import EARLY, FIRST, GROWTH, PollPacer, recent_busy_seconds
from ivkgen.runtime._jobs.tracker import JobTracker
from ivkgen.runtime._server.dto import SessionQueueItem


def item(
    status: str, sequence: int, started: str | None = None, done: str | None = None
) -> SessionQueueItem:
    return SessionQueueItem.model_validate(
        {
            "item_id": 1,
            "status": status,
            "status_sequence": sequence,
            "batch_id": "b1",
            "queue_id": "default",
            "session_id": "s1",
            "created_at": "2026-01-01 10:00:00.000",
            "updated_at": "2026-01-01 10:00:00.000",
            "started_at": started,
            "completed_at": done,
            "session": {},
        }
    )


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_pauses_start_short_and_grow_to_the_longest() -> None:
    pacer = PollPacer(0.5, clock=Clock())
    pending = [item("pending", 1)]
    pauses = [pacer.pause(pending) for _ in range(20)]
    assert pauses[0] == FIRST and pauses[1] == pytest.approx(FIRST * GROWTH)
    assert pauses == sorted(pauses) and max(pauses) == 0.5


def test_a_status_change_brings_the_next_poll_close_again() -> None:
    pacer = PollPacer(0.5, clock=Clock())
    for _ in range(8):
        pacer.pause([item("pending", 1)])
    assert pacer.pause([item("in_progress", 2, started="2026-01-01 10:00:00.020")]) == FIRST


def test_a_running_item_is_polled_close_to_the_end_earlier_items_predict() -> None:
    clock = Clock()
    pacer = PollPacer(5.0, [3.0, 2.0, 2.5], enqueued_at=clock.now, clock=clock)
    clock.now += 0.05  # seen running 50 ms after the enqueue; it started 20 ms after it
    running = [item("in_progress", 2, started="2026-01-01 10:00:00.020")]
    assert pacer.pause(running) == pytest.approx(0.02 + EARLY * 2.0 - 0.05)
    clock.now += 0.02 + EARLY * 2.0 - 0.05
    assert pacer.pause(running) == FIRST  # from there on, closely and then less and less often
    assert pacer.pause(running) == pytest.approx(FIRST * GROWTH)


def test_no_pause_exceeds_the_longest_even_when_the_end_is_far() -> None:
    clock = Clock()
    pacer = PollPacer(0.5, [60.0], enqueued_at=clock.now, clock=clock)
    running = [item("in_progress", 2, started="2026-01-01 10:00:00.000")]
    assert pacer.pause(running) == 0.5


def test_the_run_learns_busy_times_from_its_own_completed_items() -> None:
    clock = Clock()
    pacer = PollPacer(5.0, enqueued_at=clock.now, clock=clock)
    pacer.pause([item("completed", 3, "2026-01-01 10:00:00.000", "2026-01-01 10:00:01.000")])
    running = [item("in_progress", 2, started="2026-01-01 10:00:00.000")]
    assert pacer.pause(running) == pytest.approx(EARLY * 1.0)


def test_recent_busy_seconds_come_from_the_servers_timestamps_of_completed_items() -> None:
    tracker = JobTracker("default", "b1", [1, 2])
    tracker.feed_item(item("completed", 3, "2026-01-01 10:00:00.000", "2026-01-01 10:00:01.500"))
    assert recent_busy_seconds([tracker]) == [1.5]
