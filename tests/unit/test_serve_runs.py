"""The service's run routes on simulated InvokeAI servers: idempotent retries, the bound on
pending runs, retention, owners, the shaped request schema, several servers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fastapi import HTTPException
from ivkgen.service.ledger import owing_cleanup

from tests.unit._serve import fake, finished, served, service_on

RUN = "/v1/workflows/prompt_arithmetic/runs"
pytestmark = pytest.mark.usefixtures("each_store")


async def test_a_retried_post_with_the_same_idempotency_key_returns_the_same_run(
    tmp_path: Path,
) -> None:
    server = fake("a")
    async with service_on([server], cache=tmp_path) as http:
        key = {"Idempotency-Key": "order-17"}
        first = await http.post(RUN, json={"scale": 2}, headers=key)
        again = await http.post(RUN, json={"scale": 2}, headers=key)
        assert first.status_code == 202
        assert again.json()["id"] == first.json()["id"]
        other = await http.post(RUN, json={"scale": 3}, headers=key)
        assert other.status_code == 422
        assert "Idempotency-Key" in other.text
        await finished(http, first.json()["id"])
    assert len(server.chunks) == 1  # one enqueue for the two POSTs


async def test_runs_beyond_max_pending_are_refused_with_retry_after(tmp_path: Path) -> None:
    server = fake("a", duration=3600)
    async with service_on([server], cache=tmp_path, max_pending=2) as http:
        for scale in (2, 3):
            assert (await http.post(RUN, json={"scale": scale})).status_code == 202
        refused = await http.post(RUN, json={"scale": 4})
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) > 0


async def test_finished_runs_are_deleted_with_their_files_after_keep(tmp_path: Path) -> None:
    async with served([fake("a")], cache=tmp_path, keep_hours=0.0) as (http, app):
        run = (await http.post(RUN, json={}, headers={"Prefer": "wait=10"})).json()
        assert run["status"] == "completed"
        [square] = run["outputs"]["square"]
        assert (await http.get(square["url"])).status_code == 200
        service = app.state.service
        assert service.runner.prune(0.0) == 1
        assert (await http.get(run["links"]["self"])).status_code == 404
        assert (await http.get(square["url"])).status_code == 404
        assert not service.runner.files_of(run["id"]).exists()


def _owner(authorization: str | None) -> str:
    if authorization not in ("Bearer alice", "Bearer bob"):
        raise HTTPException(401, "no key")
    return authorization.removeprefix("Bearer ")


async def test_another_owners_run_and_its_files_are_not_found(tmp_path: Path) -> None:
    alice = {"Authorization": "Bearer alice"}
    bob = {"Authorization": "Bearer bob"}
    async with service_on([fake("a")], cache=tmp_path, owner=_owner) as http:
        run = (await http.post(RUN, json={}, headers={**alice, "Prefer": "wait=10"})).json()
        assert run["status"] == "completed"
        for path in (
            run["links"]["self"],
            run["links"]["events"],
            run["outputs"]["square"][0]["url"],
        ):
            assert (await http.get(path, headers=bob)).status_code == 404
            assert (await http.get(path)).status_code == 401
        assert (await http.delete(run["links"]["cancel"], headers=bob)).status_code == 404


async def test_the_request_schema_shows_set_fix_and_limit_and_requests_outside_it_are_422(
    tmp_path: Path,
) -> None:
    shaping = {
        "sets": ["prompt_arithmetic.subject=a harbour"],
        "fixes": ["prompt_arithmetic.base_size=12"],
        "limits": ["prompt_arithmetic.scale=1..4"],
    }
    async with service_on([fake("a")], cache=tmp_path, **shaping) as http:
        schemas = (await http.get("/openapi.json")).json()["components"]["schemas"]
        request = schemas["PromptArithmeticRequest"]["properties"]
        assert "base_size" not in request
        assert request["subject"]["default"] == "a harbour"
        assert (request["scale"]["minimum"], request["scale"]["maximum"]) == (1, 4)
        too_big = await http.post(RUN, json={"scale": 5})
        assert too_big.status_code == 422 and "scale" in too_big.text
        fixed = await http.post(RUN, json={"base_size": 40})
        assert fixed.status_code == 422 and "base_size" in fixed.text
        run = (await http.post(RUN, json={"scale": 4}, headers={"Prefer": "wait=10"})).json()
        assert run["inputs"]["base_size"] == 12 and run["inputs"]["subject"] == "a harbour"
        assert run["status"] == "completed"


@pytest.mark.parametrize("body", [{"scael": 2}, {"scale": "two"}, [1, 2]])
async def test_a_bad_body_is_a_422_naming_the_input(tmp_path: Path, body: object) -> None:
    async with service_on([fake("a")], cache=tmp_path) as http:
        answer = await http.post(RUN, json=body)
        assert answer.status_code == 422
        assert "Traceback" not in answer.text


async def test_runs_spread_over_two_servers_and_fail_over_when_one_is_down(
    tmp_path: Path,
) -> None:
    first, second = fake("a", duration=0.2), fake("b", duration=0.2)
    async with served([first, second], cache=tmp_path) as (http, app):
        runs = [(await http.post(RUN, json={"scale": s})).json() for s in range(1, 7)]
        ended = [await finished(http, run["id"]) for run in runs]
        assert {run["status"] for run in ended} == {"completed"}
        assert {run["server"] for run in ended} == {"http://a", "http://b"}
        while owing_cleanup(app.state.service.store):  # each run's clean-up follows its answer
            await asyncio.sleep(0.01)
        first.down = True
        later = [(await http.post(RUN, json={"scale": s})).json() for s in range(7, 9)]
        ended = [await finished(http, run["id"]) for run in later]
        assert [(run["status"], run["server"]) for run in ended] == [("completed", "http://b")] * 2
    assert not first.items and not second.items  # every queue item deleted after its run


async def test_a_run_left_in_flight_by_a_stopped_service_completes_once_on_the_next_start(
    tmp_path: Path,
) -> None:
    server = fake("a", duration=0.5)
    store = tmp_path / "runs.sqlite3"
    async with service_on([server], cache=tmp_path, store=store) as http:
        run = (await http.post(RUN, json={"scale": 2})).json()
        while not server.items:
            await asyncio.sleep(0.01)
    assert [item.status for item in server.items.values()] in (["pending"], ["in_progress"])
    async with service_on([server], cache=tmp_path, store=store) as http:
        ended = await finished(http, run["id"])
        events = [line for line in (await http.get(run["links"]["events"])).text.splitlines()]
    assert ended["status"] == "completed"
    assert server.chunks == [1]  # enqueued once, followed again after the restart
    assert not server.items
    kinds = [line.removeprefix("event: ") for line in events if line.startswith("event: ")]
    assert kinds[0] == "queued" and kinds[-1] == "completed" and kinds.count("completed") == 1


async def test_with_no_invokeai_answering_readyz_and_new_runs_are_503(tmp_path: Path) -> None:
    server = fake("a")
    async with service_on([server], cache=tmp_path) as http:
        assert (await http.get("/readyz")).status_code == 200
        server.down = True
        ready = await http.get("/readyz")
        assert ready.status_code == 503 and ready.json()["servers"] == {"http://a": False}
        refused = await http.post(RUN, json={})
        assert refused.status_code == 503 and int(refused.headers["Retry-After"]) > 0
        assert (await http.get("/healthz")).status_code == 200
        server.down = False
        assert (await http.get("/readyz")).status_code == 200
        assert (await http.post(RUN, json={})).status_code == 202


def _sse(text: str) -> list[tuple[int, str]]:
    """(id, event) of each message of an event stream."""
    found, ident = [], 0
    for line in text.splitlines():
        if line.startswith("id: "):
            ident = int(line.removeprefix("id: "))
        elif line.startswith("event: "):
            found.append((ident, line.removeprefix("event: ")))
    return found


@pytest.mark.parametrize("each_store", ["sqlite"], indirect=True)  # one process's own queue
async def test_events_resume_after_last_event_id_and_a_waiting_run_cancels_at_once(
    tmp_path: Path,
) -> None:
    server = fake("a", duration=3600)
    async with service_on([server], cache=tmp_path, max_in_flight=1) as http:
        first = (await http.post(RUN, json={"scale": 2})).json()
        second = (await http.post(RUN, json={"scale": 3})).json()
        assert second["queue_position"] == 1
        canceled = await http.delete(second["links"]["cancel"])
        assert canceled.json()["status"] == "canceled"
        events = _sse((await http.get(second["links"]["events"])).text)
        assert events == [(1, "queued"), (2, "canceled")]
        await http.delete(first["links"]["cancel"])
        every = _sse((await http.get(first["links"]["events"])).text)
        later = await http.get(first["links"]["events"], headers={"Last-Event-ID": "1"})
        assert _sse(later.text) == every[1:] and every[-1][1] == "canceled"
    assert not server.items


async def test_runs_share_each_servers_schema_and_model_list(tmp_path: Path) -> None:
    server = fake("a")
    async with service_on([server], cache=tmp_path) as http:
        for scale in (2, 3, 4):
            run = await http.post(RUN, json={"scale": scale}, headers={"Prefer": "wait=10"})
            assert run.json()["status"] == "completed"
    assert server.requests.count("GET /openapi.json") == 1
    assert server.requests.count("GET /api/v2/models/") == 1


async def test_metrics_count_runs_by_status_and_requests_by_route(tmp_path: Path) -> None:
    async with service_on([fake("a")], cache=tmp_path) as http:
        run = await http.post(RUN, json={}, headers={"Prefer": "wait=10"})
        assert run.json()["status"] == "completed"
        await http.get(f"/v1/runs/{run.json()['id']}")
        text = (await http.get("/metrics")).text
    assert 'ivkgen_runs_total{status="completed",workflow="prompt_arithmetic"} 1.0' in text
    assert 'route="/v1/runs/{run_id}",status="200"' in text
    assert f'route="{RUN}",status="200"' in text


SD15 = "/v1/workflows/sd15_text_to_image/runs"
TINY_SD15 = {"key": "k-sd15", "hash": "h1", "name": "tiny-sd15", "base": "sd-1", "type": "main"}
TINY_SDXL = {"key": "k-sdxl", "hash": "h2", "name": "tiny-sdxl", "base": "sdxl", "type": "main"}


async def test_a_model_named_as_served_default_or_in_the_body_runs_and_a_wrong_kind_is_422(
    tmp_path: Path,
) -> None:
    server = fake("a")
    server.models = [TINY_SD15, TINY_SDXL]
    sets = ["sd15_text_to_image.model=tiny-sd15"]
    async with service_on([server], cache=tmp_path, sets=sets) as http:
        by_default = await http.post(SD15, json={}, headers={"Prefer": "wait=10"})
        assert by_default.json()["status"] == "completed", by_default.text
        named = await http.post(SD15, json={"model": "tiny-sd15"}, headers={"Prefer": "wait=10"})
        assert named.json()["status"] == "completed", named.text
        wrong = await http.post(SD15, json={"model": "tiny-sdxl"})
        assert wrong.status_code == 422
        assert wrong.json()["errors"][0]["input"] == "model"
        assert "tiny-sdxl" in wrong.json()["detail"] and "sd-1" in wrong.json()["detail"]
        unknown = await http.post(SD15, json={"model": "no-such-model"})
        assert unknown.status_code == 422 and "tiny-sd15" in unknown.json()["detail"]
    assert len(server.chunks) == 2  # the refused requests enqueued nothing
    graphs = [graph["nodes"] for graph in server.graphs.values()]
    models = [n["model"] for nodes in graphs for n in nodes.values() if "model" in n]
    assert {m["key"] for m in models} == {"k-sd15"}
