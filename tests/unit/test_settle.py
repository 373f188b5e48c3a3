"""After a cancel, clean-up waits until the server let go of the item, then reads what it made."""

from __future__ import annotations

from typing import Any

import pytest
from ivkgen.runtime._jobs.plans import Pause, Plan
from ivkgen.runtime._jobs.settle import late_outputs_plan
from ivkgen.runtime._jobs.tracker import JobTracker
from ivkgen.runtime._server.dto import QueueAndProcessorStatus, SessionQueueItem

from tests.unit.test_jobs import queue_item

STARTED = "2026-01-01 10:00:01.000"
LATE = {"results": {"blur": {"image": {"image_name": "late.png"}}}}


def status(processing: bool, current: int | None = None) -> QueueAndProcessorStatus:
    counts = {"pending": 0, "in_progress": 0, "completed": 0, "failed": 0, "canceled": 1}
    queue = {"queue_id": "default", "item_id": current, "total": 1, **counts}
    processor = {"is_started": True, "is_processing": processing}
    return QueueAndProcessorStatus.model_validate({"queue": queue, "processor": processor})


def canceled(updated_at: str, session: dict[str, Any] | None = None) -> SessionQueueItem:
    return queue_item(
        1, "canceled", started_at=STARTED, updated_at=updated_at, session=session or {}
    )


def run(plan: Plan[None], answers: list[Any]) -> list[str]:
    """Answer the plan's calls in turn; the names of what it asked for (``pause`` for waits)."""
    asked: list[str] = []
    try:
        step = next(plan)
        while True:
            if isinstance(step, Pause):
                asked.append("pause")
                step = plan.send(None)
                continue
            asked.append(step.path.rsplit("/", 2)[-2] if "/i/" in step.path else "status")
            step = plan.send(answers.pop(0))
    except StopIteration:
        return asked


def canceled_tracker() -> JobTracker:
    tracker = JobTracker("default", "b1", [1])
    tracker.feed_item(canceled("2026-01-01 10:00:02.000"))
    return tracker


def test_waits_until_the_final_session_is_written() -> None:
    tracker = canceled_tracker()
    answers = [
        status(True),
        canceled("2026-01-01 10:00:02.000"),
        status(True),
        canceled("2026-01-01 10:00:04.500", LATE),
    ]
    asked = run(late_outputs_plan(tracker, interval=0), answers)
    assert asked == ["status", "i", "pause", "status", "i"]
    assert tracker.queue_items()[0].session == LATE
    assert tracker.canceled_while_running() == []


@pytest.mark.parametrize(
    "released", [status(False), status(True, current=2)], ids=["idle", "another item"]
)
def test_a_processor_that_let_go_ends_the_wait(released: QueueAndProcessorStatus) -> None:
    tracker = canceled_tracker()
    asked = run(late_outputs_plan(tracker), [released, canceled("2026-01-01 10:00:02.000")])
    assert asked == ["status", "i"]


def test_an_item_canceled_before_it_started_is_not_waited_for() -> None:
    tracker = JobTracker("default", "b1", [1])
    tracker.feed_item(queue_item(1, "canceled"))
    assert run(late_outputs_plan(tracker), []) == []


def test_the_wait_is_bounded() -> None:
    tracker = canceled_tracker()
    answers = [status(True), canceled("2026-01-01 10:00:02.000")]
    assert run(late_outputs_plan(tracker, timeout=0), answers) == ["status", "i"]
    assert tracker.canceled_while_running() == []
