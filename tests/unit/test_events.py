"""Typed events and the socket's fan-out to filtered subscriptions (no server)."""

from __future__ import annotations

from typing import Any

import pytest
from ivkgen.runtime._events.messages import (
    Event,
    InvocationCompleteEvent,
    InvocationErrorEvent,
    InvocationProgressEvent,
    QueueItemsCanceledEvent,
    QueueItemStatusChangedEvent,
    SessionEvent,
    parse_event,
)
from ivkgen.runtime._events.socket import ConnectionChanged, Subscription

from tests.harness.fake_socketio import connected_socket


def invocation(kind: str, item_id: Any = 7, batch_id: str = "b1", **extra: Any) -> dict[str, Any]:
    return {
        "timestamp": 1,
        "queue_id": "default",
        "item_id": item_id,
        "batch_id": batch_id,
        "session_id": "s1",
        "origin": "workflows",
        "destination": "gallery",
        "user_id": "system",
        "invocation": {"id": "prepared-1", "type": kind, "is_intermediate": True},
        "invocation_source_id": "img_blur:abc",
        **extra,
    }


def test_invocation_events_name_the_workflow_node_and_its_type() -> None:
    event = parse_event("invocation_started", invocation("img_blur"))
    assert event.type is SessionEvent.INVOCATION_STARTED
    assert (event.node_id, event.node_type) == ("img_blur:abc", "img_blur")  # type: ignore[attr-defined]
    assert event["node_id"] == "img_blur:abc"
    assert event.get("missing", 3) == 3


def test_progress_complete_and_error_payloads_are_typed() -> None:
    progress = parse_event(
        "invocation_progress", invocation("denoise_latents", message="Step 2/4", percentage=0.5)
    )
    assert isinstance(progress, InvocationProgressEvent)
    assert progress.progress == 0.5
    complete = parse_event(
        "invocation_complete",
        invocation("save_image", result={"type": "image_output", "image": {"image_name": "x.png"}}),
    )
    assert isinstance(complete, InvocationCompleteEvent)
    assert complete.image_name == "x.png"
    error = parse_event(
        "invocation_error",
        invocation("img_crop", error_type="KeyError", error_message="nope", error_traceback="tb"),
    )
    assert isinstance(error, InvocationErrorEvent)
    assert error.error == "KeyError: nope"


def test_status_change_knows_terminal_statuses_and_keeps_unknown_fields() -> None:
    payload = {"item_id": 7, "batch_id": "b1", "status": "failed", "new_field": [1]}
    event = parse_event("queue_item_status_changed", payload)
    assert isinstance(event, QueueItemStatusChangedEvent)
    assert event.is_terminal
    assert event["new_field"] == [1]
    waiting = parse_event("queue_item_status_changed", {**payload, "status": "waiting"})
    assert isinstance(waiting, QueueItemStatusChangedEvent) and not waiting.is_terminal


def test_unknown_events_are_kept_as_other() -> None:
    event = parse_event("llm_task_progress", {"task_id": "t"})
    assert event.type is SessionEvent.OTHER
    assert (event.name, event["task_id"]) == ("llm_task_progress", "t")


def test_events_concern_only_their_own_items_or_batches() -> None:
    mine = parse_event("invocation_started", invocation("add", item_id=7, batch_id="b1"))
    redacted = parse_event(
        "invocation_started", invocation("add", item_id="redacted", batch_id="redacted")
    )
    assert mine.concerns({7}, set()) and mine.concerns(set(), {"b1"})
    assert not mine.concerns({8}, {"b2"})
    assert not redacted.concerns({7}, {"b1"})
    canceled = parse_event("queue_items_canceled", {"canceled_item_ids": [3, 7], "user_ids": []})
    assert isinstance(canceled, QueueItemsCanceledEvent)
    assert canceled.concerns({7}, set()) and not canceled.concerns({8}, {"b1"})
    assert parse_event("queue_cleared", {"queue_id": "default"}).concerns({8}, set())


async def test_socket_fans_out_each_event_only_to_matching_subscriptions() -> None:
    socket, server = await connected_socket()
    first = socket.listen_events(batch_ids=["b1"])
    second = socket.listen_events(batch_ids=["b2"], kinds=[SessionEvent.INVOCATION_COMPLETE])
    everything = socket.listen_events()
    await server.send("invocation_started", invocation("add", batch_id="b1"))
    await server.send("invocation_complete", invocation("add", batch_id="b2", result={}))
    await server.send("invocation_started", invocation("add", batch_id="b2"))
    assert [e.batch_id for e in await drain(first)] == ["b1"]  # type: ignore[attr-defined]
    assert [e.type for e in await drain(second)] == [SessionEvent.INVOCATION_COMPLETE]
    assert len(await drain(everything)) == 3


async def test_item_ids_added_after_enqueue_widen_the_filter() -> None:
    socket, server = await connected_socket()
    subscription = socket.listen_events(batch_ids=["b1"])
    subscription.add_item_ids([42])
    await server.send("queue_items_canceled", {"canceled_item_ids": [42], "user_ids": []})
    assert [e.type for e in await drain(subscription)] == [SessionEvent.QUEUE_ITEMS_CANCELED]


async def test_disconnects_reach_subscribers_and_close_ends_iteration() -> None:
    socket, server = await connected_socket()
    subscription = socket.listen_events(batch_ids=["b1"])
    await server.drop("transport close")
    message = await subscription.get(timeout=1)
    assert isinstance(message, ConnectionChanged) and not message.connected
    await server.send("invocation_started", invocation("add"))
    await socket.close()
    assert [e.type async for e in subscription] == [SessionEvent.INVOCATION_STARTED]
    assert subscription.closed
    assert await subscription.get(timeout=0.01) is None


async def test_malformed_payloads_are_dropped_not_raised() -> None:
    socket, server = await connected_socket()
    subscription = socket.listen_events()
    await server.send("queue_item_status_changed", {"item_id": 1})  # no status
    assert await drain(subscription) == []


async def drain(subscription: Subscription) -> list[Event]:
    """The events delivered so far (connection changes left out)."""
    events = []
    while (message := await subscription.get(timeout=0.01)) is not None:
        if isinstance(message, Event):
            events.append(message)
    return events


@pytest.mark.parametrize("name", [k.value for k in SessionEvent if k is not SessionEvent.OTHER])
def test_every_kind_parses_from_a_minimal_payload(name: str) -> None:
    payload = {"item_id": 1, "batch_id": "b", "status": "pending", "canceled_item_ids": []}
    assert parse_event(name, payload).type.value == name


def test_results_read_like_dicts_as_in_the_seed_examples() -> None:
    from ivkgen.runtime._jobs.tracker import SubmitResult
    from ivkgen.runtime._server.dto import SessionQueueItem

    item = SessionQueueItem.model_validate(
        {
            "item_id": 7,
            "status": "completed",
            "batch_id": "b",
            "queue_id": "default",
            "session_id": "s",
            "priority": 0,
            "created_at": "2026-01-01 00:00:00",
            "updated_at": "2026-01-01 00:00:01",
            "session": {"id": "s", "graph": {}},
            "origin": "ivkgen",
        }
    )
    assert (item["status"], item["item_id"], item.get("origin")) == ("completed", 7, "ivkgen")
    assert item.get("missing", "N/A") == "N/A"
    result = SubmitResult(
        batch_id="b", queue_id="default", enqueued=1, requested=1, priority=0, item_ids=[7]
    )
    assert result["item_ids"] == [7]
    with pytest.raises(KeyError):
        result["nope"]


async def test_a_queue_is_joined_once_per_connection() -> None:
    socket, server = await connected_socket()
    await socket.subscribe("default")
    await socket.subscribe("default")
    await socket.subscribe("other")
    assert server.calls == [("subscribe_queue", {"queue_id": q}) for q in ("default", "other")]
    await server.drop("transport close")
    await server.reconnect()  # python-socketio's reconnection: the socket joins both again
    assert server.emitted == [("subscribe_queue", {"queue_id": q}) for q in ("default", "other")]
    await socket.subscribe("default")
    assert [data["queue_id"] for _, data in server.calls] == ["default", "other", "default"]
