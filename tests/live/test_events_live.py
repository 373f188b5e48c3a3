"""Events from the real server: the raw socket, per-job isolation, polling fallback, latency."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from ivkgen.runtime import InvokeAIClient
from ivkgen.runtime._events.messages import Event, QueueItemStatusChangedEvent, SessionEvent

from tests.harness.server import InvokeAIServer
from tests.live._runs import TEAM, slow_workflow
from tests.live.test_auth_live import ADMIN, ADMIN_PASSWORD


@pytest.fixture(scope="module")
def client(server_url: str) -> Iterator[InvokeAIClient]:
    with InvokeAIClient.from_url(server_url, timeout=30) as client:
        yield client


async def test_the_socket_streams_one_items_events_in_order(client: InvokeAIClient) -> None:
    handle = client.workflow_repo.create_workflow_handle(TEAM / "prompt-arithmetic.json")
    handle.find_input("Subject").field.value = "a socket"  # type: ignore[attr-defined]
    kinds: list[SessionEvent] = []
    async with client.connect_socketio() as socket:
        await socket.subscribe("default")
        everything = socket.listen_events()
        result = await asyncio.to_thread(handle.submit_sync)
        mine = socket.listen_events(batch_ids=[result.batch_id], item_ids=result.item_ids)
        async for event in everything:
            if event.get("batch_id") != result.batch_id:
                continue
            kinds.append(event.type)
            if isinstance(event, QueueItemStatusChangedEvent) and event.is_terminal:
                assert event.status == "completed"
                break
    assert kinds[0] is SessionEvent.BATCH_ENQUEUED
    assert kinds[1] is SessionEvent.QUEUE_ITEM_STATUS_CHANGED
    assert kinds.count(SessionEvent.INVOCATION_STARTED) == kinds.count(
        SessionEvent.INVOCATION_COMPLETE
    )
    assert kinds.count(SessionEvent.INVOCATION_COMPLETE) >= 5
    assert mine.closed  # leaving the block ended every subscription
    handle.cleanup_outputs()
    handle.cleanup_queue_items()


@pytest.mark.parametrize("shared", [True, False], ids=["one socket", "a socket each"])
async def test_two_concurrent_jobs_each_get_only_their_own_events(
    client: InvokeAIClient, shared: bool
) -> None:
    pipeline = client.workflow_repo.create_workflow_handle(TEAM / "image-pipeline.json")
    sweep = client.workflow_repo.create_workflow_handle(TEAM / "width-sweep.json")
    pipeline.find_input("Canvas Width").field.value = 80 + shared  # type: ignore[attr-defined]
    sweep.find_input("Height").field.value = 24 + shared  # type: ignore[attr-defined]
    seen: dict[str, list[Event]] = {"pipeline": [], "sweep": []}

    async def run(name: str, handle: Any, socket: Any) -> Any:
        record = seen[name].append
        await handle.submit(
            socket=socket,
            on_invocation_started=record,
            on_invocation_progress=record,
            on_invocation_complete=record,
            on_invocation_error=record,
        )
        return await handle.wait_for_completion(timeout=60)

    async with client.connect_socketio() as socket:
        jobs = await asyncio.gather(
            run("pipeline", pipeline, socket if shared else None),
            run("sweep", sweep, socket if shared else None),
        )
    assert [job.status for job in jobs] == ["completed", "completed"]
    for name, handle in (("pipeline", pipeline), ("sweep", sweep)):
        assert seen[name], f"{name} got no events"
        assert {(e["batch_id"], e["item_id"]) for e in seen[name]} == {
            (handle.batch_id, handle.item_ids[0])
        }
    pipeline_nodes = {e["node_id"] for e in seen["pipeline"]}
    sweep_nodes = {e["node_id"] for e in seen["sweep"]}
    assert "save_image:ZkSBvrjn9W" in pipeline_nodes and "iterate:n7IWUSmTtz" in sweep_nodes
    assert not pipeline_nodes & sweep_nodes
    for handle in (pipeline, sweep):
        handle.cleanup_outputs()
        handle.cleanup_queue_items()


async def test_a_dropped_socket_falls_back_to_polling(client: InvokeAIClient) -> None:
    handle = client.workflow_repo.create_workflow_handle(slow_workflow(size=1024, blurs=3))
    started = asyncio.Event()
    async with client.connect_socketio() as socket:
        await handle.submit(socket=socket, on_invocation_started=lambda e: started.set())
        await asyncio.wait_for(started.wait(), timeout=30)
    assert not socket.connected
    job = await handle.wait_for_completion(timeout=60)
    assert job.status == "completed"
    handle.cleanup_queue_items()


async def test_a_logged_in_users_job_gets_its_events_through_the_token_socket(
    multiuser_invokeai: InvokeAIServer,
) -> None:
    with InvokeAIClient.from_url(multiuser_invokeai.url) as anonymous:
        if anonymous.get_auth_status().setup_required:
            anonymous.setup_admin(ADMIN, ADMIN_PASSWORD, display_name="Admin")
    with InvokeAIClient.from_url(
        multiuser_invokeai.url, email=ADMIN, password=ADMIN_PASSWORD
    ) as client:
        handle = client.workflow_repo.create_workflow_handle(TEAM / "prompt-arithmetic.json")
        completed: list[str] = []
        await handle.submit(on_invocation_complete=lambda e: completed.append(e.node_id))
        job = await handle.wait_for_completion(timeout=60)
        assert job.status == "completed"
        assert "blank_image:WrXPvhsBkD" in completed
        assert ADMIN_PASSWORD not in repr(client)
        handle.cleanup_outputs()
        handle.cleanup_queue_items()


async def test_an_async_clients_submissions_share_one_event_socket(server_url: str) -> None:
    from ivkgen.runtime import AsyncInvokeAIClient

    async with AsyncInvokeAIClient.from_url(server_url) as client:
        socket = await client.event_socket()
        for _ in range(2):
            handle = client.workflow_repo.create_workflow_handle(TEAM / "prompt-arithmetic.json")
            async with handle:
                await handle.submit()
                job = await handle.wait_for_completion(timeout=60)
                await handle.acleanup_outputs()
            assert job.status == "completed"
        assert socket is await client.event_socket()
        assert socket.connected
    assert not socket.connected
