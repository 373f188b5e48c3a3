"""InvokeAI 7.0's event shapes (hand-made payloads written from its published event fields)
through the parser, the socket's fan-out and the job tracker; 6.14 payloads behave as before."""

from __future__ import annotations

from typing import Any

import pytest
import socketio
from ivkgen.runtime import ServerUnreachableError
from ivkgen.runtime._events.messages import InvocationProgressEvent, ProgressRevisions, parse_event
from ivkgen.runtime._events.socket import ConnectionChanged, Subscription
from ivkgen.runtime._jobs.tracker import JobTracker

from tests.harness.fake_socketio import FakeSocketIO, connected_socket
from tests.unit.test_events import drain, invocation


def replayed_frame(item_id: int, revision: int, percentage: float) -> dict[str, Any]:
    """The latest progress frame of a running item, as a 7.0 server replays it after
    ``subscribe_queue``: no timestamp, batch id, origin, destination, user id or invocation."""
    return {
        "queue_id": "default",
        "item_id": item_id,
        "session_id": "s1",
        "invocation_source_id": "denoise:1",
        "message": "Step",
        "percentage": percentage,
        "image": None,
        "revision": revision,
    }


def progress(item_id: int, revision: int, node: str = "denoise:1") -> dict[str, Any]:
    frame = invocation("denoise_latents", item_id=item_id, percentage=revision / 10)
    return {**frame, "revision": revision, "invocation_source_id": node}


def called(kind: str, item_id: int, root: int, **extra: Any) -> dict[str, Any]:
    """An event of an item a ``call_saved_workflow`` node of item ``root`` enqueued."""
    lineage = {"parent_item_id": root, "root_item_id": root}
    return invocation(
        kind, item_id=item_id, **lineage, workflow_call_parent_source_id="call:1", **extra
    )


def test_a_replayed_frame_without_invocation_parses_and_names_its_node() -> None:
    event = parse_event("invocation_progress", replayed_frame(7, 3, 0.3))
    assert isinstance(event, InvocationProgressEvent)
    assert (event.node_id, event.prepared_node_id, event.node_type) == ("denoise:1", "", "")
    assert (event.revision, event.batch_id, event.timestamp) == (3, None, None)


async def test_a_replayed_frame_reaches_the_job_by_its_item_id_not_its_batch() -> None:
    socket, server = await connected_socket()
    by_batch = socket.listen_events(batch_ids=["b1"])
    job = socket.listen_events(batch_ids=["b1"])
    job.add_item_ids([7])
    await server.send("invocation_progress", replayed_frame(7, 3, 0.3))
    assert [e.percentage for e in await drain(job)] == [0.3]  # type: ignore[attr-defined]
    assert await drain(by_batch) == []


async def test_the_socket_drops_a_frame_older_than_one_delivered() -> None:
    socket, server = await connected_socket()
    job = socket.listen_events(item_ids=[7, 8])
    await server.send("invocation_progress", progress(7, 4))
    await server.send("invocation_progress", replayed_frame(7, 4, 0.4))  # the replay of frame 4
    await server.send("invocation_progress", progress(7, 2))  # late
    await server.send("invocation_progress", progress(8, 1))  # another item has its own count
    await server.send("invocation_progress", progress(7, 5))
    seen = [(e.item_id, e.revision) for e in await drain(job)]  # type: ignore[attr-defined]
    assert seen == [(7, 4), (8, 1), (7, 5)]


def test_frames_without_a_revision_all_pass_as_on_6_14() -> None:
    revisions = ProgressRevisions()
    frames = [parse_event("invocation_progress", invocation("denoise_latents")) for _ in range(3)]
    assert all(revisions.fresh(frame) for frame in frames)


def test_an_item_that_ended_starts_its_count_again() -> None:
    revisions = ProgressRevisions()
    assert revisions.fresh(parse_event("invocation_progress", progress(7, 9)))
    revisions.forget(7)
    assert revisions.fresh(parse_event("invocation_progress", progress(7, 1)))


async def test_a_called_items_events_concern_its_root_item() -> None:
    socket, server = await connected_socket()
    root_job = socket.listen_events(item_ids=[7])
    other_job = socket.listen_events(item_ids=[9])
    await server.send("invocation_started", called("add", item_id=12, root=7, batch_id="other"))
    seen = [(e.item_id, e.root_id) for e in await drain(root_job)]  # type: ignore[attr-defined]
    assert seen == [(12, 7)]
    assert await drain(other_job) == []


def test_the_tracker_counts_a_called_items_events_for_its_root() -> None:
    tracker = JobTracker("default", "b1", [7])
    tracker.feed(parse_event("invocation_started", called("add", item_id=12, root=7)))
    image = {"type": "image_output", "image": {"image_name": "child.png"}}
    tracker.feed(parse_event("invocation_complete", called("save_image", 12, 7, result=image)))
    assert tracker.job(7).status == "in_progress"
    assert tracker.reported_images() == {"child.png": "s1"}


def test_6_14_events_belong_to_their_own_item() -> None:
    event = parse_event("invocation_started", invocation("add", item_id=7))
    assert event.root_id == 7 and event["root_id"] == 7  # type: ignore[attr-defined]
    assert not event.concerns([8], ["b2"])


class _Tokens:
    """A client's token and its log-ins again, as the socket sees them."""

    def __init__(self) -> None:
        self.token = "first"
        self.renewed: list[str | None] = []

    def options(self) -> dict[str, Any]:
        return {"url": "http://x.test", "auth": {"token": self.token}}

    async def renew(self, refused: str | None) -> None:
        self.renewed.append(refused)
        self.token = f"renewed-{len(self.renewed)}"


def _refusing(*tokens: str | None) -> FakeSocketIO:
    return FakeSocketIO(refused_tokens=set(tokens))


async def test_a_refused_socket_logs_in_again_and_connects_with_the_new_token() -> None:
    tokens = _Tokens()
    socket, server = await connected_socket(
        _refusing("first"), tokens.options, renew_token=tokens.renew
    )
    assert server.auths == [{"token": "first"}, {"token": "renewed-1"}] and socket.connected
    assert tokens.renewed == ["first"]


async def test_a_socket_refused_again_after_logging_in_gives_up_not_in_a_loop() -> None:
    tokens = _Tokens()
    server = _refusing("first", "renewed-1")
    with pytest.raises(ServerUnreachableError, match="is the client logged in"):
        await connected_socket(server, tokens.options, renew_token=tokens.renew)
    assert server.auths == [{"token": "first"}, {"token": "renewed-1"}]
    assert tokens.renewed == ["first"]


async def test_a_socket_without_a_token_never_logs_in() -> None:
    tokens = _Tokens()
    server = _refusing(None)  # a server with users refuses a socket without a token
    with pytest.raises(ServerUnreachableError):
        await connected_socket(
            server, lambda: {"url": "http://x.test", "auth": None}, renew_token=tokens.renew
        )
    assert server.auths == [None] and tokens.renewed == []


async def test_a_socket_the_server_closed_connects_again_with_a_renewed_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """python-socketio does not reconnect after the server closes the connection (as InvokeAI
    does for a revoked token): the socket does, logging in again once it is refused, and
    again the next time the server revokes the token it connected with."""
    monkeypatch.setattr("ivkgen.runtime._events.socket.RECONNECT_DELAY", 0.0)
    tokens = _Tokens()
    socket, server = await connected_socket(
        _refusing("first"), tokens.options, renew_token=tokens.renew
    )
    changes = socket.listen_events()
    for revoked in ("renewed-1", "renewed-2"):
        server.refused_tokens.add(revoked)
        await server.drop(socketio.AsyncClient.reason.SERVER_DISCONNECT)
        assert await _connection_changes(changes, 2) == [False, True]
    assert [auth["token"] for auth in server.auths] == [
        "first",
        "renewed-1",
        "renewed-1",
        "renewed-2",
        "renewed-2",
        "renewed-3",
    ]
    assert tokens.renewed == ["first", "renewed-1", "renewed-2"] and socket.connected


async def test_a_lost_connection_is_left_to_python_socketio(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("ivkgen.runtime._events.socket.RECONNECT_DELAY", 0.0)
    socket, server = await connected_socket()
    changes = socket.listen_events()
    await server.drop("transport close")
    assert await _connection_changes(changes, 1) == [False]
    assert await changes.get(timeout=0.05) is None  # the socket did not connect again itself
    assert len(server.auths) == 1 and not socket.connected


async def _connection_changes(subscription: Subscription, count: int) -> list[bool]:
    changes = []
    for _ in range(count):
        message = await subscription.get(timeout=5)
        assert isinstance(message, ConnectionChanged)
        changes.append(message.connected)
    return changes
