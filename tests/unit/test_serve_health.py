"""The service's health check: a slow reading of a server that answers is no outage."""

from __future__ import annotations

import asyncio
import itertools

import httpx
import pytest
from ivkgen.runtime.client import AsyncInvokeAIClient
from ivkgen.runtime.jobs.plans import MODELS
from ivkgen.runtime.repositories.models import ModelOps
from ivkgen.service import health
from ivkgen.service.health import SLOW_READINGS_TO_DOWN, ServerHealth
from ivkgen.service.servers import SharedAnswers

from tests.unit._serve import fake

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
