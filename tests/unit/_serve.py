"""A service in this process on simulated InvokeAI servers (``tests.harness.fake_invokeai``)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from ivkgen.runtime._client import AsyncInvokeAIClient
from ivkgen.service.app import create_app
from ivkgen.service.catalog import load_catalog
from ivkgen.service.config import ServiceConfig

from tests.harness.fake_invokeai import FakeInvokeAI

GENERATED = Path(__file__).resolve().parents[2] / "generated"
FINAL = ("completed", "failed", "canceled")
STORE = ":memory:"
"""The store of the services started here (the ``each_store`` fixture sets it)."""


def fake(name: str, duration: float = 0.02) -> FakeInvokeAI:
    """A simulated server whose items take ``duration`` seconds of real time."""
    return FakeInvokeAI(name, time.monotonic, duration=duration)


@contextlib.asynccontextmanager
async def service_on(
    servers: Sequence[FakeInvokeAI], **options: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of a service on the simulated ``servers`` (options: see ``served``)."""
    async with served(servers, **options) as (http, _):
        yield http


@contextlib.asynccontextmanager
async def served(
    servers: Sequence[FakeInvokeAI],
    *,
    cache: Path,
    paths: Sequence[Path] = (GENERATED,),
    **options: Any,
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    """An HTTP client of a service serving ``paths`` on the simulated ``servers``, and the
    service's application."""
    shaping = {k: options.pop(k, ()) for k in ("sets", "fixes", "limits")}
    catalog = load_catalog(list(paths), cache=cache, **shaping)
    clients = {
        f"http://{s.name}": AsyncInvokeAIClient.from_url(
            f"http://{s.name}", transport=s.transport()
        )
        for s in servers
    }
    options.setdefault("poll_interval", 0.02)
    options.setdefault("store", STORE)
    if STORE != ":memory:":
        options.setdefault("files", cache / "files")
    config = ServiceConfig(catalog=catalog, servers=list(clients), **options)
    app = create_app(config, clients=clients)
    transport = httpx.ASGITransport(app=app)
    http = httpx.AsyncClient(transport=transport, base_url="http://service")
    async with app.router.lifespan_context(app), http:
        yield http, app
    for client in clients.values():
        await client.aclose()


async def finished(http: httpx.AsyncClient, run_id: str, **headers: str) -> dict[str, Any]:
    """The run once it ended (polled)."""
    import asyncio

    while True:
        run: dict[str, Any] = (await http.get(f"/v1/runs/{run_id}", headers=headers)).json()
        if run["status"] in FINAL:
            return run
        await asyncio.sleep(0.01)
