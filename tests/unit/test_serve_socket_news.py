"""What a server's event socket tells a run's follower saves reads: an item the socket heard
whole is not read at all, an item said to have ended is read at once without first reading its
status, and an output node's image is downloaded as
soon as the node completed, once (a simulated server whose clock the test moves; the followers
never poll on their own here)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from ivkgen.runtime import InvocationCompleteEvent, SessionEvent, SessionQueueItem
from ivkgen.service.follow import RunFollower
from ivkgen.service.state import Service

from tests.harness.fake_invokeai import FakeInvokeAI, VirtualClock
from tests.unit._serve import served

RUN = "/v1/workflows/prompt_arithmetic/runs"
SERVER = "http://a"


async def _follower(app: FastAPI, server: FakeInvokeAI) -> tuple[RunFollower, int]:
    """The follower of the one run, once its item is in the server's queue, and the item."""
    service: Service = app.state.service
    while not server.items:
        await asyncio.sleep(0.01)
    item_id = next(iter(server.items))
    while (follower := service.runner.follower_of(SERVER, item_id, None)) is None:
        await asyncio.sleep(0.01)
    return follower, item_id


async def _ended(app: FastAPI, run_id: str) -> str:
    """The run's status once it ended, read from the store (a ``GET`` of the run would read
    its place in the server's queue)."""
    service: Service = app.state.service
    while not (record := service.store.get_run(run_id)) or not record.final:
        await asyncio.sleep(0.01)
    return record.status


@dataclass
class _Scene:
    http: httpx.AsyncClient
    app: FastAPI
    server: FakeInvokeAI
    run: dict[str, Any]
    follower: RunFollower
    item_id: int


@contextlib.asynccontextmanager
async def _an_ended_item(tmp_path: Path) -> AsyncIterator[_Scene]:
    """A service whose followers never poll on their own, with one run whose item has just
    ended on its simulated server (the follower not told yet)."""
    clock = VirtualClock()
    server = FakeInvokeAI("a", clock, duration=1.0)
    async with served([server], cache=tmp_path, poll_interval=3600) as (http, app):
        run = (await http.post(RUN, json={"scale": 2})).json()
        follower, item_id = await _follower(app, server)
        server.advance()  # the item starts
        clock.sleep(2.0)
        server.advance()  # and ends
        yield _Scene(http, app, server, run, follower, item_id)


async def test_an_item_the_socket_said_ended_is_read_without_reading_its_status(
    tmp_path: Path,
) -> None:
    async with _an_ended_item(tmp_path) as scene:
        before = len(scene.server.requests)
        scene.follower.item_ended(SERVER, scene.item_id, None)
        assert await _ended(scene.app, scene.run["id"]) == "completed"
        reads = [r for r in scene.server.requests[before:] if r.endswith("_by_ids")]
    assert reads[0] == "POST /api/v1/queue/default/items_by_ids"
    assert "POST /api/v1/queue/default/item_summaries_by_ids" not in reads


async def test_an_item_the_socket_heard_whole_is_not_read(tmp_path: Path) -> None:
    async with _an_ended_item(tmp_path) as scene:
        before = len(scene.server.requests)
        item = scene.server.items[scene.item_id]
        [(_, _, name, _)] = item.outputs or ()
        scene.follower.item_ended(SERVER, scene.item_id, SessionQueueItem(**item.as_json()))
        assert await _ended(scene.app, scene.run["id"]) == "completed"
        reads = [r for r in scene.server.requests[before:] if r.endswith("_by_ids")]
        done = (await scene.http.get(scene.run["links"]["self"])).json()
        [output] = [f for files in done["outputs"].values() for f in files]
        assert (await scene.http.get(output["url"])).content == b"\x89PNG " + name.encode()
    assert reads == []


async def test_an_output_image_is_downloaded_when_its_node_completed_and_only_then(
    tmp_path: Path,
) -> None:
    async with _an_ended_item(tmp_path) as scene:
        server, item_id = scene.server, scene.item_id
        [(node_id, _, name, _)] = server.items[item_id].outputs
        event = InvocationCompleteEvent(
            type=SessionEvent.INVOCATION_COMPLETE,
            name="invocation_complete",
            item_id=item_id,
            invocation_source_id=node_id,
            result={"type": "image_output", "image": {"image_name": name}},
        )
        scene.follower.node_completed(SERVER, event)
        fetch = f"GET /api/v1/images/i/{name}/full"
        while fetch not in server.requests:
            await asyncio.sleep(0.01)
        service: Service = scene.app.state.service
        assert not service.store.get_run(scene.run["id"]).final  # type: ignore[union-attr]
        scene.follower.item_ended(SERVER, item_id, None)
        assert await _ended(scene.app, scene.run["id"]) == "completed"
        done = (await scene.http.get(scene.run["links"]["self"])).json()
        [output] = [f for files in done["outputs"].values() for f in files]
        assert (await scene.http.get(output["url"])).content == b"\x89PNG " + name.encode()
    assert server.requests.count(fetch) == 1
