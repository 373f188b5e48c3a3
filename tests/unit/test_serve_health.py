"""The service's health check: a slow reading of a server that answers is no outage; every
queue full makes the service unready."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import httpx
import pytest
from ivkgen.runtime._client import AsyncInvokeAIClient
from ivkgen.runtime._jobs.plans import MODELS
from ivkgen.runtime._repositories.models import ModelOps
from ivkgen.service import health
from ivkgen.service.app import create_app
from ivkgen.service.catalog import load_catalog
from ivkgen.service.config import ServiceConfig
from ivkgen.service.health import SLOW_READINGS_TO_DOWN, ServerHealth
from ivkgen.service.servers import SharedAnswers

from tests.harness.fake_invokeai import FakeInvokeAI
from tests.unit._serve import GENERATED, fake

URL = "http://a"


def _slow_for(server_handle: object, slow_readings: list[bool]) -> httpx.MockTransport:
    """A transport that answers each queue status reading slowly while ``slow_readings``
    says so (popped per reading), else as the simulated server."""

    async def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/status") and slow_readings and slow_readings.pop(0):
            await asyncio.sleep(1.0)
        return server_handle(request)  # type: ignore[operator, no-any-return]

    return httpx.MockTransport(handle)


@pytest.fixture(autouse=True)
def _short_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "ANSWER_TIMEOUT", 0.05)


async def test_one_slow_reading_leaves_a_server_up_and_runs_are_taken() -> None:
    server = fake("a")
    client = AsyncInvokeAIClient.from_url(URL, transport=_slow_for(server.handle, [False, True]))
    checks = ServerHealth({URL: client})
    await checks.check()
    assert checks.answers[URL] is True
    await checks.check()  # the slow one
    assert checks.answers[URL] is True and checks.any_answers()
    await client.aclose()


async def test_slow_readings_in_a_row_count_it_down_and_a_runs_answer_brings_it_back() -> None:
    server = fake("a")
    slow = [True] * (2 * SLOW_READINGS_TO_DOWN - 1)
    client = AsyncInvokeAIClient.from_url(URL, transport=_slow_for(server.handle, slow))
    checks = ServerHealth({URL: client})
    shared = SharedAnswers(client, clock=itertools.count(0, 3600).__next__)  # none kept
    shared.answered = lambda: checks.heard(URL)
    for _ in range(SLOW_READINGS_TO_DOWN - 1):
        await checks.check()
        await shared.execute(ModelOps.list_models.call(MODELS))  # a run's call answered
    assert checks.answers[URL] is not False
    for _ in range(SLOW_READINGS_TO_DOWN):
        await checks.check()
    assert checks.answers[URL] is False and not checks.any_answers()
    await shared.execute(ModelOps.list_models.call(MODELS))
    assert checks.answers[URL] is True
    await client.aclose()


async def test_a_refused_reading_counts_a_server_down_at_once() -> None:
    server = fake("a")
    client = AsyncInvokeAIClient.from_url(URL, transport=server.transport(), retries=0)
    checks = ServerHealth({URL: client})
    server.down = True
    await checks.check()
    assert checks.answers[URL] is False
    await client.aclose()


def _with_queue_size(server: FakeInvokeAI, max_queue_size: int) -> httpx.MockTransport:
    """The simulated server, with a runtime config that names its ``max_queue_size``."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/app/runtime_config":
            config = {"max_queue_size": max_queue_size}
            return httpx.Response(200, json={"set_fields": [], "config": config})
        return server.handle(request)

    return httpx.MockTransport(handle)


async def test_readyz_is_503_while_every_queue_is_full(tmp_path: Path) -> None:
    servers = [fake(name, duration=3600) for name in ("a", "b")]
    clients = {
        f"http://{s.name}": AsyncInvokeAIClient.from_url(
            f"http://{s.name}", transport=_with_queue_size(s, 1)
        )
        for s in servers
    }
    catalog = load_catalog([GENERATED], cache=tmp_path)
    app = create_app(ServiceConfig(catalog=catalog, servers=list(clients)), clients=clients)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service")
    async with app.router.lifespan_context(app), http:
        for scale in (2, 3):  # one item running on each server, none pending
            await http.post("/v1/workflows/prompt_arithmetic/runs", json={"scale": scale})
        while sum(len(s.items) for s in servers) < 2:
            await asyncio.sleep(0.01)
        ready = await http.get("/readyz")
        assert ready.status_code == 200 and ready.json()["full"] == []
        await http.post("/v1/workflows/prompt_arithmetic/runs", json={"scale": 4})
        while sum(len(s.items) for s in servers) < 3:
            await asyncio.sleep(0.01)
        ready = await http.get("/readyz")  # one queue full, the other takes items
        assert ready.status_code == 200 and ready.json()["full"] == ["http://a"]
        await http.post("/v1/workflows/prompt_arithmetic/runs", json={"scale": 5})
        while sum(len(s.items) for s in servers) < 4:
            await asyncio.sleep(0.01)
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {
            "status": "unavailable",
            "servers": {"http://a": True, "http://b": True},
            "full": ["http://a", "http://b"],
            "database": True,
        }
    for client in clients.values():
        await client.aclose()
