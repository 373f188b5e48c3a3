"""The job state machine: events and polled items in, terminal state and errors out."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from ivkgen.runtime._errors import JobCanceledError, JobFailedError, JobTimeoutError, NotFoundError
from ivkgen.runtime._events.messages import parse_event
from ivkgen.runtime._jobs.plans import drive_sync, follow_plan
from ivkgen.runtime._jobs.tracker import JobTracker
from ivkgen.runtime._server.dto import QueueItemSummary, SessionQueueItem

from tests.harness.fake_socketio import connected_socket


def status(item_id: int, value: str, sequence: int, batch_id: str = "b1", **extra: Any) -> Any:
    payload = {"item_id": item_id, "batch_id": batch_id, "status": value}
    return parse_event(
        "queue_item_status_changed", {**payload, "status_sequence": sequence, **extra}
    )


def queue_item(item_id: int, value: str, sequence: int = 9, **extra: Any) -> SessionQueueItem:
    return SessionQueueItem.model_validate(
        {
            "item_id": item_id,
            "status": value,
            "status_sequence": sequence,
            "batch_id": "b1",
            "queue_id": "default",
            "session_id": f"s{item_id}",
            "created_at": "2026-01-01 10:00:00.000",
            "updated_at": "2026-01-01 10:00:02.000",
            "session": {},
            **extra,
        }
    )


def tracker(*item_ids: int) -> JobTracker:
    labels = {"crop:1": "Crop it"}
    return JobTracker("default", "b1", list(item_ids) or [1], node_labels=labels)


def test_a_job_ends_only_on_its_own_terminal_status() -> None:
    job = tracker(1)
    empty_queue = {"queue_status": {"pending": 0, "in_progress": 0}}
    job.feed(status(2, "completed", 3, batch_id="other", **empty_queue))
    job.feed(status(1, "in_progress", 1))
    assert not job.done and job.jobs()[0].status == "in_progress"
    job.feed(status(1, "completed", 2, started_at="2026-01-01 10:00:00.500"))
    assert job.done
    assert job.needs_session() == [1]


def test_the_final_session_is_read_once_after_the_end() -> None:
    job = tracker(1)
    job.feed(status(1, "completed", 2))
    job.feed_item(queue_item(1, "completed"))
    assert job.needs_session() == []
    job.raise_for_status()


def test_stale_reports_never_move_an_item_back() -> None:
    job = tracker(1)
    job.feed(status(1, "in_progress", 5))
    job.feed_item(queue_item(1, "pending", sequence=1))
    assert job.jobs()[0].status == "in_progress"
    job.feed(status(1, "canceled", 6))
    job.feed(status(1, "in_progress", 7))
    assert job.jobs()[0].status == "canceled"


def test_a_failure_names_the_node_from_the_error_event() -> None:
    job = tracker(1)
    job.feed(status(1, "failed", 3, error_type="ValueError", error_message="bad crop"))
    error_event = {
        "item_id": 1,
        "batch_id": "b1",
        "invocation": {"id": "p1", "type": "img_crop"},
        "invocation_source_id": "crop:1",
        "error_type": "ValueError",
        "error_message": "bad crop",
        "error_traceback": "Traceback ...",
    }
    job.feed(parse_event("invocation_error", error_event))
    with pytest.raises(JobFailedError) as caught:
        job.raise_for_status()
    error = caught.value
    assert (error.node_id, error.node_label, error.item_id) == ("crop:1", "Crop it", 1)
    assert (error.error_type, error.error_message, error.error_traceback) == (
        "ValueError",
        "bad crop",
        "Traceback ...",
    )
    assert "'Crop it'" in str(error) and "ValueError: bad crop" in str(error)


def test_a_failure_names_the_node_from_the_session_errors() -> None:
    job = tracker(1)
    session = {
        "errors": {"p1": "ValueError: bad crop"},
        "prepared_source_mapping": {"p1": "crop:1"},
    }
    job.feed_item(queue_item(1, "failed", error_type="ValueError", session=session))
    with pytest.raises(JobFailedError) as caught:
        job.raise_for_status()
    assert caught.value.node_id == "crop:1"


def test_bulk_cancel_and_deletion_end_items_as_canceled() -> None:
    job = tracker(1, 2, 3)
    job.feed(parse_event("queue_items_canceled", {"canceled_item_ids": [1, 99], "user_ids": []}))
    job.item_deleted(2)
    assert job.unfinished_ids == [3]
    assert job.needs_session() == []  # item 1 was canceled before it started: nothing to read
    job.feed(status(3, "completed", 2))
    with pytest.raises(JobCanceledError, match=r"item 1 .* canceled"):
        job.raise_for_status()
    assert [j.status for j in job.jobs()] == ["canceled", "canceled", "completed"]


def test_a_cleared_queue_asks_for_a_poll() -> None:
    job = tracker(1)
    assert job.feed(parse_event("queue_cleared", {"queue_id": "default"}))
    assert not job.feed(status(1, "in_progress", 1))


def test_durations_come_from_the_server_timestamps() -> None:
    job = tracker(1)
    job.feed_item(
        queue_item(
            1,
            "completed",
            started_at="2026-01-01 10:00:00.250",
            completed_at="2026-01-01 10:00:02.000",
        )
    )
    assert job.job(1).duration_seconds == pytest.approx(1.75)
    assert job.job(1)["status"] == "completed"


def test_the_timeout_error_lists_unfinished_items_and_is_a_timeout() -> None:
    job = tracker(4, 5)
    job.feed(status(4, "completed", 2))
    job.feed(status(5, "in_progress", 1))
    error = job.timeout_error(2.5)
    assert isinstance(error, JobTimeoutError) and isinstance(error, TimeoutError)
    assert "5: in_progress" in str(error) and "4:" not in str(error)
    assert error.item_id == 5


def test_items_are_kept_in_id_order_whatever_the_server_order() -> None:
    assert JobTracker("default", "b", [9, 3, 5]).item_ids == [3, 5, 9]
    with pytest.raises(ValueError, match="no queue items"):
        JobTracker("default", "b", [])


def test_images_reported_by_complete_events_are_remembered_per_item() -> None:
    jobs = tracker(1, 2)

    def complete(item_id: int, result: dict[str, Any], batch_id: str = "b1") -> Any:
        payload = {"item_id": item_id, "batch_id": batch_id, "session_id": f"s{item_id}"}
        return parse_event("invocation_complete", {**payload, "result": result})

    jobs.feed(complete(1, {"type": "image_output", "image": {"image_name": "a.png"}}))
    jobs.feed(complete(2, {"type": "integer_output", "value": 3}))
    jobs.feed(complete(9, {"type": "image_output", "image": {"image_name": "x.png"}}, "other"))
    assert jobs.reported_images() == {"a.png": "s1"}


def test_only_failed_items_ask_for_their_session_right_away() -> None:
    job = tracker(1, 2, 3, 4)
    job.feed(status(1, "completed", 2))
    job.feed(status(2, "failed", 2))
    job.feed(parse_event("invocation_started", {"item_id": 3, "batch_id": "b1"}))
    job.feed(parse_event("queue_items_canceled", {"canceled_item_ids": [3, 4], "user_ids": []}))
    assert job.needs_session() == [1, 2, 3]  # not 4: canceled before it ran
    assert job.unread_failures() == [2]
    job.feed_item(queue_item(2, "failed"))
    assert job.unread_failures() == []


async def test_a_run_subscribed_before_the_enqueue_needs_no_request_to_complete() -> None:
    from ivkgen.runtime._events.socket import SocketLease
    from ivkgen.runtime._jobs.clients import AsyncClient
    from ivkgen.runtime._jobs.tracker import SubmitResult
    from ivkgen.runtime._jobs.watch import Run, Tracking, watch

    class Recorder(AsyncClient):
        def __init__(self) -> None:
            self.sent: list[Any] = []

        async def execute(self, call: Any) -> Any:
            self.sent.append(call)
            return None

        async def lease_event_socket(self) -> SocketLease:
            raise AssertionError("the run has its socket")

    socket, server = await connected_socket()
    result = SubmitResult(
        batch_id="b1", queue_id="default", enqueued=1, requested=1, priority=0, item_ids=[1]
    )
    subscription = socket.listen_events(batch_ids=["b1"])
    run = Run(result, tracker(1), tracking=Tracking(SocketLease(socket, owned=False), subscription))
    await server.send(
        "queue_item_status_changed", {"item_id": 1, "batch_id": "b1", "status": "completed"}
    )
    client = Recorder()
    await watch(run, client, poll_first=False)
    assert run.tracker.done and client.sent == []
    assert subscription.closed


async def test_a_missed_terminal_event_is_caught_by_a_poll_after_a_short_silence() -> None:
    from ivkgen.runtime._events.socket import SocketLease
    from ivkgen.runtime._jobs.clients import AsyncClient
    from ivkgen.runtime._jobs.tracker import SubmitResult
    from ivkgen.runtime._jobs.watch import QUIET_POLL, Run, Tracking, watch

    class Silent:
        """A live subscription whose events never come (the terminal one was lost)."""

        closed, connected = False, True

        def __init__(self) -> None:
            self.timeouts: list[float] = []

        async def get(self, timeout: float) -> None:
            self.timeouts.append(timeout)

        def close(self) -> None:
            self.closed = True

    class Answers(AsyncClient):
        def __init__(self) -> None:
            self.answers = iter([queue_item(1, "in_progress"), queue_item(1, "completed")])
            self.sent: list[Any] = []

        async def execute(self, call: Any) -> Any:
            self.sent.append(call)
            return next(self.answers)

        async def lease_event_socket(self) -> SocketLease:
            raise AssertionError("the run has its socket")

    silent = Silent()
    result = SubmitResult(
        batch_id="b1", queue_id="default", enqueued=1, requested=1, priority=0, item_ids=[1]
    )
    lease = SocketLease(silent, owned=False)  # type: ignore[arg-type]
    run = Run(result, tracker(1), tracking=Tracking(lease, silent))  # type: ignore[arg-type]
    client = Answers()
    await watch(run, client, poll_first=False)
    assert run.tracker.done and len(client.sent) == 2
    assert silent.timeouts == [QUIET_POLL, 2 * QUIET_POLL]  # not the 5 s safety poll


def _summary(item_id: int, value: str) -> dict[str, Any]:
    return {
        "item_id": item_id,
        "status": value,
        "batch_id": "b1",
        "created_at": "2026-01-01 10:00:00.000",
        "started_at": None if value == "pending" else "2026-01-01 10:00:01.000",
        "completed_at": "2026-01-01 10:00:02.000" if value == "completed" else None,
    }


def _answer(call: Any, answers: dict[str, Any]) -> Any:
    """The parsed answer of a queue call: ``answers`` by the last part of its path."""
    route = call.path.rsplit("/", 1)[-1]
    answer = answers[route]
    if isinstance(answer, Exception):
        raise answer
    response = httpx.Response(200, json=answer(call.json["item_ids"]))
    return call.parse(response)


def test_a_wait_reads_statuses_without_sessions_and_a_whole_item_once_it_ended() -> None:
    job = tracker(1, 2, 3)
    sent: list[tuple[str, list[int]]] = []
    answers = {
        "item_summaries_by_ids": lambda ids: [
            _summary(1, "completed"),
            _summary(2, "in_progress"),
            _summary(3, "pending"),
        ],
        "items_by_ids": lambda ids: [queue_item(i, "completed").model_dump() for i in ids],
    }

    def send(call: Any) -> Any:
        sent.append((call.path.rsplit("/", 1)[-1], call.json["item_ids"]))
        return _answer(call, answers)

    polled = drive_sync(follow_plan(job, [1, 2, 3]), send)
    assert sent == [("item_summaries_by_ids", [1, 2, 3]), ("items_by_ids", [1])]
    assert [type(p) for p in polled] == [SessionQueueItem, QueueItemSummary, QueueItemSummary]
    assert job.unfinished_ids == [2, 3] and job.needs_session() == []


def test_a_wait_on_a_server_without_summaries_reads_whole_items_and_asks_once() -> None:
    job = tracker(1, 2)
    sent: list[str] = []
    missing = NotFoundError("no route", method="POST", path="/x", status_code=404, detail=None)
    answers = {
        "item_summaries_by_ids": missing,
        "items_by_ids": lambda ids: [queue_item(i, "in_progress").model_dump() for i in ids],
    }

    def send(call: Any) -> Any:
        sent.append(call.path.rsplit("/", 1)[-1])
        return _answer(call, answers)

    drive_sync(follow_plan(job, [1, 2]), send)
    drive_sync(follow_plan(job, [1, 2]), send)
    assert sent == ["item_summaries_by_ids", "items_by_ids", "items_by_ids"]
