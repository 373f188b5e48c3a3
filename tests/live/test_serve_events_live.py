"""A run's Server-Sent Events against the real server: in order, ending with the outputs, and
a client reconnecting with ``Last-Event-ID`` misses nothing; a run whose item the service's event
socket heard whole is answered without reading the item; a run canceled with DELETE leaves
nothing on InvokeAI."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from tests.harness.proxy import FaultProxy, Rule
from tests.harness.server import InvokeAIServer
from tests.live._serve import server_holdings, serving
from tests.live._serve_process import slow_workflow_file


async def _events(
    http: httpx.AsyncClient, url: str, last: int | None = None
) -> list[dict[str, Any]]:
    """Every SSE message of a stream, parsed: its id, event and data."""
    headers = {"Last-Event-ID": str(last)} if last is not None else {}
    found: list[dict[str, Any]] = []
    async with http.stream("GET", url, headers=headers) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        message: dict[str, Any] = {}
        async for line in stream.aiter_lines():
            if not line:
                if message:
                    found.append(message)
                message = {}
            elif not line.startswith(":"):
                key, _, value = line.partition(": ")
                message[key] = json.loads(value) if key == "data" else value
    return found


async def test_a_runs_events_arrive_in_order_end_with_the_outputs_and_resume_after_an_id(
    server_url: str, tmp_path: Path
) -> None:
    async with serving([server_url], tmp_path / "store.sqlite3") as http:
        answer = await http.post(
            "/v1/workflows/prompt_arithmetic/runs", json={"base_size": 11, "scale": 3}
        )
        run = answer.json()
        events = await _events(http, run["links"]["events"])
        kinds = [e["event"] for e in events]
        assert [int(e["id"]) for e in events] == list(range(1, len(events) + 1))
        assert kinds[0] == "queued" and kinds[-1] == "completed"
        assert "running" in kinds
        started = kinds.index("running")
        assert "node_started" in kinds[started:] and "node_completed" in kinds[started:]
        last = events[-1]["data"]
        assert last["status"] == "completed" and last["outputs"]["square"][0]["url"]
        again = await _events(http, run["links"]["events"], last=2)
        assert again == events[2:]


async def test_a_run_the_event_socket_heard_whole_is_answered_without_reading_its_item(
    invokeai: InvokeAIServer, tmp_path: Path
) -> None:
    read = Rule(b"/items_by_ids", answer=500)  # a read of the item would fail once
    proxy = FaultProxy(invokeai.port, rules=[read]).start()
    try:  # the service polls only after 30 s: its socket wakes it when the item ended
        async with serving([proxy.url], tmp_path / "store.sqlite3", poll_interval=30) as http:
            answer = await http.post(
                "/v1/workflows/prompt_arithmetic/runs",
                json={"base_size": 13, "scale": 2},
                headers={"Prefer": "wait=60"},
            )
            run = answer.json()
            assert answer.status_code == 200 and run["status"] == "completed", answer.text
            [square] = run["outputs"]["square"]
            image = await http.get(square["url"])
            assert image.content.startswith(b"\x89PNG")
    finally:
        proxy.stop()
    assert read.seen == 0


async def test_delete_cancels_a_running_run_and_leaves_nothing_on_invokeai(
    server_url: str, tmp_path: Path
) -> None:
    before = server_holdings(server_url)
    slow = slow_workflow_file(tmp_path)
    async with serving([server_url], tmp_path / "store.sqlite3", paths=[slow]) as http:
        run = (await http.post("/v1/workflows/slow_blur/runs", json={"width": 1016})).json()
        while (await http.get(run["links"]["self"])).json()["status"] != "running":
            await asyncio.sleep(0.05)
        canceled = await http.delete(run["links"]["cancel"])
        assert canceled.status_code == 200, canceled.text
        assert canceled.json()["status"] == "canceled"
        events = await _events(http, run["links"]["events"])
        assert events[-1]["event"] == "canceled"
        again = await http.delete(run["links"]["cancel"])
        assert again.status_code == 409
    assert server_holdings(server_url) == before
