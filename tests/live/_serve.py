"""Helpers of the service's live tests: an app on the real server, what InvokeAI holds."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
from ivkgen.runtime._client import InvokeAIClient
from ivkgen.service.app import create_app
from ivkgen.service.catalog import load_catalog
from ivkgen.service.config import ServiceConfig

from tests.conftest import REPO
from tests.live._runs import image_count

GENERATED = REPO / "generated"


def server_holdings(url: str) -> tuple[int, int]:
    """Every image and every queue item on the server."""
    with InvokeAIClient.from_url(url) as client:
        return image_count(client), len(client.queue_repo.list_all_items())


@contextlib.asynccontextmanager
async def serving(
    servers: Sequence[str],
    store: Path | str = ":memory:",
    paths: Sequence[Path] = (GENERATED,),
    **options: Any,
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of a service on ``servers`` serving ``paths``, in this process."""
    shaping = {k: options.pop(k, ()) for k in ("sets", "fixes", "limits", "library")}
    cache = Path(str(store) + ".cache")
    catalog = load_catalog(list(paths), cache=cache, server=servers[0], **shaping)
    app = create_app(ServiceConfig(catalog=catalog, servers=list(servers), store=store, **options))
    transport = httpx.ASGITransport(app=app)
    http = httpx.AsyncClient(transport=transport, base_url="http://service", timeout=60)
    async with app.router.lifespan_context(app), http:
        yield http
