"""``create_app``: the FastAPI application of one service instance.

On start it opens the store and follows again every run the store holds unfinished (a service
stopped or killed mid-run loses none); while it runs it deletes the runs kept past
``keep_hours``; on stop it refuses new runs and leaves the runs in flight on InvokeAI, to be
followed by the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

from fastapi import FastAPI
from ivkgen.runtime._client import AsyncInvokeAIClient
from ivkgen.service import api_files, api_meta, api_runs
from ivkgen.service.config import ServiceConfig
from ivkgen.service.docs import install_docs
from ivkgen.service.events import EventHub
from ivkgen.service.health import ServerHealth
from ivkgen.service.limits import install_body_limit
from ivkgen.service.metrics import Metrics, install_metrics
from ivkgen.service.multipart import MultipartRuns
from ivkgen.service.node_events import NodeEvents
from ivkgen.service.notify import RunNotices
from ivkgen.service.problems import install_problem_handlers
from ivkgen.service.replicas import shared_service
from ivkgen.service.runner import Runner
from ivkgen.service.state import Service
from ivkgen.service.store import SqliteStore
from ivkgen.service.store_pg import is_postgres_url
from ivkgen.service.webhooks import WebhookSender

log = logging.getLogger("ivkgen.service")
PRUNE_INTERVAL = 60.0


def create_app(
    config: ServiceConfig, clients: Mapping[str, AsyncInvokeAIClient] | None = None
) -> FastAPI:
    """The service's app; ``clients`` (by server URL) replace those made from
    ``config.servers``."""

    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = _open(config, clients)
        app.state.service = state
        sender = None
        if config.webhook_secret is not None:
            sender = WebhookSender(config.webhook_secret, config.urls)
        notices = RunNotices(metrics, sender)
        state.runner.listeners.append(notices)
        state.health.listeners.append(metrics.set_queue_depth)
        for name, shared in state.runner.clients.items():
            shared.answered = functools.partial(state.health.heard, name)
        node_events = NodeEvents(state.clients, state.runner.follower_of, state.runner.publish)
        await node_events.start()
        state.health.start()
        resumed = state.runner.resume()
        if resumed:
            log.info("following %d run(s) left unfinished", resumed)
        pruning = asyncio.create_task(_prune(state, config.keep_hours * 3600))
        try:
            yield
        finally:
            state.accepting = False
            pruning.cancel()
            await node_events.stop()
            await state.health.stop()
            await state.hub.close()
            await state.runner.detach()
            await notices.aclose()
            if clients is None:
                for client in state.clients.values():
                    await client.aclose()
            state.store.close()

    app = FastAPI(
        title="ivkgen serve",
        summary="InvokeAI workflows as a typed HTTP API",
        version="1",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    install_problem_handlers(app)
    install_docs(app)
    install_metrics(app, metrics)
    app.include_router(api_meta.router)
    for served in config.catalog.values():
        app.include_router(api_runs.workflow_route(served))
    app.add_middleware(MultipartRuns, policy=config.urls)
    install_body_limit(app, config.max_body_bytes)
    app.include_router(api_runs.router)
    app.include_router(api_files.router)
    return app


def _open(config: ServiceConfig, clients: Mapping[str, AsyncInvokeAIClient] | None) -> Service:
    made = dict(clients) if clients is not None else _clients(config.servers)
    files = config.files_folder()
    if is_postgres_url(config.store):
        return shared_service(config, made, Path(files))
    store = SqliteStore(config.store)
    hub = EventHub(store)
    runner = Runner(
        store,
        hub,
        config.catalog,
        made,
        Path(files),
        poll_interval=config.poll_interval,
        max_in_flight=config.max_in_flight or 4 * len(made),
    )
    return Service(config, store, hub, runner, made, ServerHealth(made, store))


def _clients(servers: Sequence[str]) -> dict[str, AsyncInvokeAIClient]:
    return {url: AsyncInvokeAIClient.from_url(url) for url in servers}


async def _prune(state: Service, keep_seconds: float) -> None:
    while True:
        pruned = state.runner.prune(keep_seconds)
        if pruned:
            log.info("deleted %d run(s) kept past --keep", pruned)
        await asyncio.sleep(PRUNE_INTERVAL)


__all__ = ["create_app"]
