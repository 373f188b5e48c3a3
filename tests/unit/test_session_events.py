"""``subscribe_session`` and the ``GRAPH_COMPLETE`` event the socket makes (no server)."""

from __future__ import annotations

from typing import Any

from ivkgen.runtime import SessionEvent
from ivkgen.runtime._events.messages import QueueItemStatusChangedEvent, parse_event

from tests.harness.fake_socketio import connected_socket


def status(status: str, session_id: str = "s1", item_id: int = 7) -> dict[str, Any]:
    return {"item_id": item_id, "batch_id": "b", "session_id": session_id, "status": status}


def started(session_id: str) -> dict[str, Any]:
    return {
        "item_id": 7,
        "batch_id": "b",
        "session_id": session_id,
        "invocation": {"id": "p", "type": "string"},
        "invocation_source_id": "n",
    }


async def test_a_terminal_status_is_followed_by_graph_complete() -> None:
    socket, server = await connected_socket()
    events = socket.listen_events()
    await server.send("queue_item_status_changed", status("in_progress"))
    await server.send("queue_item_status_changed", status("failed"))
    kinds = [(await events.get(timeout=1)) for _ in range(3)]
    assert [getattr(e, "type", None) for e in kinds] == [
        SessionEvent.QUEUE_ITEM_STATUS_CHANGED,
        SessionEvent.QUEUE_ITEM_STATUS_CHANGED,
        SessionEvent.GRAPH_COMPLETE,
    ]
    assert kinds[2]["status"] == "failed" and kinds[2]["session_id"] == "s1"
    assert await events.get(timeout=0.01) is None


async def test_listening_after_subscribe_session_yields_that_sessions_events_from_then_on() -> None:
    socket, server = await connected_socket()
    await server.send("invocation_started", started("s1"))  # before the subscription: not kept
    await socket.subscribe_session("s1")
    await server.send("invocation_started", started("s1"))
    await server.send("invocation_started", started("other"))
    await server.send("queue_item_status_changed", status("completed"))
    seen = []
    async for event in socket.listen_events():
        seen.append(event.type)
        if event.type == SessionEvent.GRAPH_COMPLETE:
            break
    assert seen == [
        SessionEvent.INVOCATION_STARTED,
        SessionEvent.QUEUE_ITEM_STATUS_CHANGED,
        SessionEvent.GRAPH_COMPLETE,
    ]


async def test_a_session_that_ended_before_the_subscription_still_ends_the_listener() -> None:
    asked: list[str] = []

    async def lookup(session_id: str) -> QueueItemStatusChangedEvent | None:
        asked.append(session_id)
        event = parse_event("queue_item_status_changed", status("completed", session_id))
        assert isinstance(event, QueueItemStatusChangedEvent)
        return event

    socket, server = await connected_socket(session_status=lookup)
    await socket.subscribe_session("s1")
    watcher = socket.listen_events(batch_ids=["b"])  # a job's own subscription
    await server.send("queue_item_status_changed", status("completed"))  # late
    events = socket.listen_events()
    kinds = [getattr(await events.get(timeout=1), "type", None) for _ in range(3)]
    assert kinds == [
        SessionEvent.QUEUE_ITEM_STATUS_CHANGED,
        SessionEvent.GRAPH_COMPLETE,
        SessionEvent.QUEUE_ITEM_STATUS_CHANGED,  # the server's own: GRAPH_COMPLETE not repeated
    ]
    assert await events.get(timeout=0.01) is None and asked == ["s1"]
    late = await watcher.get(timeout=1)
    assert getattr(late, "type", None) == SessionEvent.QUEUE_ITEM_STATUS_CHANGED
