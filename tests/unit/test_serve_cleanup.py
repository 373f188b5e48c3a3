"""A run's clean-up on InvokeAI on simulated servers: a run is answered as soon as it ended and
cleaned up after; a clean-up cut short is finished on the next start; a run in flight whose
workflow is no longer served after a restart is taken back from InvokeAI and failed."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from ivkgen.service.ledger import owing_cleanup
from ivkgen.service.state import Service
from ivkgen.service.store import RunRecord, StoredEvent

from tests.live._runs import blur_inputs_workflow, png
from tests.unit._serve import GENERATED, fake, finished, served, service_on

RUN = "/v1/workflows/prompt_arithmetic/runs"


def _service(app: FastAPI) -> Service:
    found: Service = app.state.service
    return found


async def _until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "still not so"
        await asyncio.sleep(0.01)


async def test_a_clean_up_cut_short_after_the_answer_is_finished_on_the_next_start(
    tmp_path: Path,
) -> None:
    server = fake("a")
    store = tmp_path / "runs.sqlite3"

    async def server_goes_down(record: RunRecord, event: StoredEvent) -> None:
        if event.type == "completed":
            server.down = True

    async with served([server], cache=tmp_path, store=store) as (http, app):
        _service(app).runner.listeners.append(server_goes_down)
        answer = await http.post(RUN, json={"scale": 2}, headers={"Prefer": "wait=10"})
        run = answer.json()
        assert answer.status_code == 200 and run["status"] == "completed"
        [square] = run["outputs"]["square"]
        assert (await http.get(square["url"])).status_code == 200
    assert len(server.items) == 1  # the clean-up could not reach the server
    server.down = False
    async with served([server], cache=tmp_path, store=store) as (http, app):
        await _until(lambda: not server.items)
        await _until(lambda: not owing_cleanup(_service(app).store))
        again = (await http.get(run["links"]["self"])).json()
        events = (await http.get(run["links"]["events"])).text
    assert again["status"] == "completed" and again["outputs"] == run["outputs"]
    assert events.count("event: completed") == 1
    assert server.chunks == [1]


async def test_a_run_whose_workflow_is_no_longer_served_is_taken_back_and_failed(
    tmp_path: Path,
) -> None:
    server = fake("a", duration=3600)
    store = tmp_path / "runs.sqlite3"
    workflow = tmp_path / "blurs.json"
    workflow.write_text(json.dumps(blur_inputs_workflow(1)))
    image = base64.b64encode(png()).decode()
    async with service_on([server], cache=tmp_path, store=store, paths=[workflow]) as http:
        answer = await http.post("/v1/workflows/blurs/runs", json={"blur_0_image": image})
        run = answer.json()
        assert answer.status_code == 202, answer.text
        await _until(lambda: bool(server.items))
    assert server.uploads and server.images
    async with service_on([server], cache=tmp_path, store=store, paths=[GENERATED]) as http:
        ended = await finished(http, run["id"])
        assert (await http.post("/v1/workflows/blurs/runs", json={})).status_code == 404
    assert ended["status"] == "failed"
    assert ended["error"] == (
        "workflow 'blurs' is no longer served: the service restarted without it and canceled "
        "the run"
    )
    assert not server.items and not server.images  # item deleted, the upload too
    assert server.requests.count("POST /api/v1/queue/default/enqueue_batch") == 1
