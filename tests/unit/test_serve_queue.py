"""A run's place in the queues on simulated servers: among the runs waiting in the service, then
its item's among the pending items of its InvokeAI server's queue (other clients' items
included), in the run resource and in the ``queued`` events."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from ivkgen.service.state import Service

from tests.unit._serve import fake, served, service_on

RUN = "/v1/workflows/prompt_arithmetic/runs"


def _service(app: FastAPI) -> Service:
    found: Service = app.state.service
    return found


async def _queued_events(app: FastAPI, run_id: str, count: int) -> list[dict[str, Any]]:
    """The run's first ``count`` ``queued`` events, once recorded."""
    store = _service(app).store
    while True:
        found = [e.data for e in store.events_after(run_id, 0) if e.type == "queued"]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.01)


async def test_a_runs_place_in_invokeais_queue_counts_the_pending_items_ahead(
    tmp_path: Path,
) -> None:
    server = fake("a", duration=3600)
    other = {"batch_id": "another-client", "graph": {"nodes": {}, "edges": []}, "runs": 2}
    enqueue = "http://a/api/v1/queue/default/enqueue_batch"
    server.handle(httpx.Request("POST", enqueue, json={"batch": other}))  # one runs, one waits
    async with served([server], cache=tmp_path, max_in_flight=2) as (http, app):
        runs = [(await http.post(RUN, json={"scale": s})).json() for s in (2, 3, 4)]
        while len(server.items) < 4:
            await asyncio.sleep(0.01)
        seen = [(await http.get(run["links"]["self"])).json() for run in runs]
        assert [(r["status"], r["queue_position"], r["server_position"]) for r in seen] == [
            ("queued", None, 2),
            ("queued", None, 3),
            ("queued", 1, None),  # still in the service's own queue
        ]
        events = await _queued_events(app, runs[1]["id"], 2)
        assert events == [
            {"status": "queued", "position": None},
            {"status": "queued", "position": None, "server": "http://a", "server_position": 3},
        ]
        for run in runs:
            await http.delete(run["links"]["cancel"])
    assert list(server.items) == [1, 2]  # the other client's items only


async def test_the_place_in_the_services_queue_skips_the_runs_canceled_ahead(
    tmp_path: Path,
) -> None:
    server = fake("a", duration=3600)
    async with service_on([server], cache=tmp_path, max_in_flight=1) as http:
        runs = [(await http.post(RUN, json={"scale": s})).json() for s in (2, 3, 4, 5)]
        assert [run["queue_position"] for run in runs] == [None, 1, 2, 3]
        await http.delete(runs[2]["links"]["cancel"])
        last = (await http.get(runs[3]["links"]["self"])).json()
        assert last["queue_position"] == 2
        await http.delete(runs[1]["links"]["cancel"])
        last = (await http.get(runs[3]["links"]["self"])).json()
        assert last["queue_position"] == 1
        for run in (runs[0], runs[3]):
            await http.delete(run["links"]["cancel"])
    assert not server.items


async def test_a_run_whose_item_leaves_the_queue_while_its_place_is_read_is_answered(
    tmp_path: Path,
) -> None:
    server = fake("a", duration=3600)
    other = {"batch_id": "another-client", "graph": {"nodes": {}, "edges": []}, "runs": 1}
    enqueue = "http://a/api/v1/queue/default/enqueue_batch"
    server.handle(httpx.Request("POST", enqueue, json={"batch": other}))  # it runs first
    async with served([server], cache=tmp_path) as (http, app):
        run = (await http.post(RUN, json={"scale": 2})).json()
        while len(server.items) < 2:
            await asyncio.sleep(0.01)
        runner = _service(app).runner
        follower = runner.follower_of("http://a", 2, None)
        assert follower is not None
        state = follower.run.states["http://a"]

        async def taken_meanwhile(server_name: str, item_id: int) -> int | None:
            state.queued.pop(item_id, None)  # the run's step took the item as it ended
            return None

        runner.positions.position = taken_meanwhile  # type: ignore[method-assign]
        answer = await http.get(run["links"]["self"])
        assert answer.status_code == 200, answer.text
        assert answer.json()["server_position"] is None
        await http.delete(run["links"]["cancel"])
