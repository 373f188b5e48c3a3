"""Two replicas of the service on one PostgreSQL database and one simulated InvokeAI server:
a replica that stops hands its run over at once, and the other answers for the run meanwhile;
a replica is not ready while PostgreSQL does not answer."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import httpx
import pytest

from tests.harness.postgres import PostgresServer
from tests.harness.proxy import FaultProxy
from tests.unit import _serve
from tests.unit._serve import fake, finished, service_on

RUN = "/v1/workflows/prompt_arithmetic/runs"


async def _running(http: httpx.AsyncClient, run_id: str) -> None:
    while (await http.get(f"/v1/runs/{run_id}")).json()["status"] != "running":
        await asyncio.sleep(0.02)


async def test_a_stopping_replica_hands_its_run_to_another_that_answers_for_it_throughout(
    tmp_path: Path, fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_serve, "STORE", fresh_database)
    server = fake("a", duration=3600)  # held running until the hand-over is under way
    async with contextlib.AsyncExitStack() as first:
        a = await first.enter_async_context(service_on([server], cache=tmp_path, lease=30.0))
        run = (await a.post(RUN, json={"scale": 3})).json()
        await asyncio.wait_for(_running(a, run["id"]), 30)
        async with service_on([server], cache=tmp_path, lease=30.0) as b:
            seen = (await b.get(run["links"]["self"])).json()
            assert seen["status"] == "running"
            stream = asyncio.create_task(b.get(run["links"]["events"]))
            await first.aclose()  # the driving replica stops (SIGTERM): no lease to wait for
            server.duration = 0.0  # the item finishes on the server's next request
            done = await asyncio.wait_for(finished(b, run["id"]), 20)
            events = (await asyncio.wait_for(stream, 20)).text
            [square] = done["outputs"]["square"]
            assert (await b.get(square["url"])).status_code == 200
    assert done["status"] == "completed"
    kinds = [
        line.removeprefix("event: ") for line in events.splitlines() if line.startswith("event:")
    ]
    assert kinds[0] == "queued" and kinds[-1] == "completed" and "running" in kinds
    assert len(server.chunks) == 1  # enqueued once, followed by the second replica
    assert not server.items  # its queue item deleted once followed to the end


async def test_a_cancel_sent_to_another_replica_cancels_the_run_where_it_is_driven(
    tmp_path: Path, fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_serve, "STORE", fresh_database)
    server = fake("a", duration=3600)
    async with service_on([server], cache=tmp_path, lease=30.0) as a:
        run = (await a.post(RUN, json={"scale": 5})).json()
        await asyncio.wait_for(_running(a, run["id"]), 30)
        async with service_on([server], cache=tmp_path, lease=30.0) as b:
            answer = await b.delete(run["links"]["cancel"])
            assert answer.status_code == 200
            assert answer.json()["status"] == "canceled"
        assert (await a.get(run["links"]["self"])).json()["status"] == "canceled"
    assert not server.items  # canceled and deleted on the server


async def test_readyz_is_503_while_postgresql_does_not_answer_and_200_once_it_does_again(
    tmp_path: Path,
    postgres: PostgresServer,
    fresh_database: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxy = FaultProxy(upstream=postgres.port).start()  # the database's network, cut at will
    address = f"127.0.0.1:{postgres.port}/"
    monkeypatch.setattr(
        _serve, "STORE", fresh_database.replace(address, f"127.0.0.1:{proxy.port}/")
    )
    try:
        async with service_on([fake("a")], cache=tmp_path, lease=30.0) as http:
            ready = await http.get("/readyz")
            assert ready.status_code == 200 and ready.json()["database"] is True
            proxy.stop()
            down = await http.get("/readyz")
            assert down.status_code == 503
            assert down.json() == {
                "status": "unavailable",
                "servers": {"http://a": True},
                "full": [],
                "database": False,
            }
            assert (await http.get("/healthz")).status_code == 200  # alive: no restart
            proxy.start()
            again = await http.get("/readyz")
            assert again.status_code == 200 and again.json()["database"] is True
            run = (await http.post(RUN, json={"scale": 2})).json()
            assert (await asyncio.wait_for(finished(http, run["id"]), 30))["status"] == "completed"
    finally:
        proxy.stop()
