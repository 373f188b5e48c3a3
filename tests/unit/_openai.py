"""A service with the OpenAI routes in this process on simulated InvokeAI servers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
from ivkgen.runtime._client import AsyncInvokeAIClient
from ivkgen.service.app import create_app
from ivkgen.service.catalog import load_catalog
from ivkgen.service.config import ServiceConfig
from ivkgen.service.openai.binding import bindings_for
from ivkgen.service.openai.routes import install_openai
from ivkgen.service.outbound import UrlPolicy

from tests.harness.fake_invokeai import FakeInvokeAI

HAND_MADE = Path(__file__).resolve().parents[1] / "openai_workflows"
LIMITS = ["prompt_canvas.width=16..128", "prompt_canvas.height=16..128"]


POLICY = UrlPolicy(allowed_hosts=frozenset(), max_bytes=256 * 1024)
"""No media URL allowed; files up to 256 KiB."""


@contextlib.asynccontextmanager
async def openai_service(
    servers: Sequence[FakeInvokeAI],
    tmp_path: Path,
    binding_file: Path | None = None,
    **options: Any,
) -> AsyncIterator[httpx.AsyncClient]:
    """A service of the hand-made workflows with the OpenAI routes, on simulated servers."""
    files = sorted(HAND_MADE.glob("*.json"))
    catalog = load_catalog(files, cache=tmp_path / "cache", limits=LIMITS)
    clients = {
        f"http://{s.name}": AsyncInvokeAIClient.from_url(
            f"http://{s.name}", transport=s.transport()
        )
        for s in servers
    }
    config = ServiceConfig(
        catalog=catalog,
        servers=list(clients),
        poll_interval=0.02,
        urls=POLICY,
        **options,
    )
    app = create_app(config, clients=clients)
    install_openai(app, bindings_for(catalog, binding_file)[0])
    transport = httpx.ASGITransport(app=app)
    http = httpx.AsyncClient(transport=transport, base_url="http://service")
    async with app.router.lifespan_context(app), http:
        yield http
    for client in clients.values():
        await client.aclose()
