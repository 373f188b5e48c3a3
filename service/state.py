"""The parts of a running service that its routes share, and the request's owner."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from ivkgen.runtime._client import AsyncInvokeAIClient
from ivkgen.service.config import ServiceConfig
from ivkgen.service.events import EventHub
from ivkgen.service.health import ServerHealth
from ivkgen.service.problems import NotFound
from ivkgen.service.runner import Runner
from ivkgen.service.store import RunRecord, RunStore


@dataclass
class Service:
    config: ServiceConfig
    store: RunStore
    hub: EventHub
    runner: Runner
    clients: dict[str, AsyncInvokeAIClient]
    health: ServerHealth
    accepting: bool = True


def service(request: Request) -> Service:
    found: Service = request.app.state.service
    return found


def owner(request: Request) -> str:
    """The caller's owner id (the seam of API keys: ``ServiceConfig.owner``)."""
    return service(request).config.owner(request.headers.get("authorization"))


async def authorized(request: Request) -> str:
    """``owner`` as a route dependency (awaited in the request's task, not in a thread)."""
    return owner(request)


def owned_run(request: Request, run_id: str) -> RunRecord:
    """The caller's run ``run_id``; another owner's run is as unknown as a missing one."""
    record = service(request).store.get_run(run_id)
    if record is None or record.owner != owner(request):
        raise NotFound(f"no run {run_id!r}")
    return record


__all__ = ["Service", "authorized", "owned_run", "owner", "service"]
