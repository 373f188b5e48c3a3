"""Both clients against the real server: answers, server-side errors, socket options."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
import socketio
from ivkgen.runtime import (
    AsyncInvokeAIClient,
    InvokeAIClient,
    NotFoundError,
    ServerValidationError,
)

from tests.live.test_repositories_live import blur_body, produced_images


def test_sync_client_reads_the_server(server_url: str) -> None:
    with InvokeAIClient.from_url(server_url) as client:
        assert client.get_version() == "6.14.2"
        assert client.get_auth_status().multiuser_enabled is False
        assert client.queue_repo.get_status().processor.is_started


async def test_async_client_runs_requests_concurrently(server_url: str) -> None:
    async with AsyncInvokeAIClient.from_url(server_url) as client:
        answers = await asyncio.gather(*(client.get_version() for _ in range(8)))
        assert answers == ["6.14.2"] * 8


def bad_node_value() -> dict[str, Any]:
    body = blur_body()
    body["batch"]["graph"]["nodes"]["blur"]["radius"] = "very blurry"
    return body


def bad_edge_field() -> dict[str, Any]:
    body = blur_body()
    body["batch"]["graph"]["edges"][0]["destination"]["field"] = "picture"
    return body


@pytest.mark.parametrize(
    ("body", "node", "field"),
    [(bad_node_value(), "blur", "radius"), (bad_edge_field(), "blur", "picture")],
    ids=["bad value", "bad edge"],
)
def test_rejected_graph_names_the_node_and_field(
    server_url: str, body: dict[str, Any], node: str, field: str
) -> None:
    client = InvokeAIClient.from_url(server_url)
    with client, pytest.raises(ServerValidationError) as caught:
        client.queue_repo.enqueue_batch(body)
    error = caught.value
    assert (error.status_code, error.node_id, error.field) == (422, node, field)
    assert f"node {node!r} field {field!r}" in str(error)
    assert "POST /api/v1/queue/default/enqueue_batch" in str(error)


def test_missing_objects_are_not_found_errors(server_url: str) -> None:
    with InvokeAIClient.from_url(server_url) as client:
        with pytest.raises(NotFoundError) as caught:
            client.queue_repo.get_queue_item(987654)
        assert caught.value.status_code == 404 and caught.value.detail
        with pytest.raises(NotFoundError):
            client.image_repo.delete_image("no-such-image.png")


async def test_socketio_options_connect_over_websocket_and_deliver_events(
    server_url: str,
) -> None:
    async with AsyncInvokeAIClient.from_url(server_url) as client:
        options = client.socketio_options()
        assert options["auth"] is None
        statuses: list[str] = []
        ended = asyncio.Event()
        sio = socketio.AsyncClient()
        body = blur_body()
        batch_id = body["batch"]["batch_id"] = str(uuid.uuid4())  # known before enqueueing

        @sio.on("queue_item_status_changed")  # type: ignore[untyped-decorator]
        async def on_status(event: dict[str, Any]) -> None:
            if event["batch_id"] == batch_id:
                statuses.append(event["status"])
                if event["status"] in ("completed", "failed", "canceled"):
                    ended.set()

        await sio.connect(**options)
        try:
            assert sio.transport() == "websocket"
            await sio.emit("subscribe_queue", {"queue_id": "default"})
            result = await client.queue_repo.enqueue_batch(body)
            assert result.batch_id == batch_id
            await asyncio.wait_for(ended.wait(), timeout=60)
        finally:
            await sio.disconnect()
        assert statuses == ["in_progress", "completed"]
        item = await client.queue_repo.get_queue_item(result.item_ids[0])
        await client.image_repo.delete_images(produced_images(item))
