"""The service's own routes: the served workflows, liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from ivkgen.service.state import authorized, service

router = APIRouter()


@router.get("/v1/workflows", tags=["workflows"], dependencies=[Depends(authorized)])
async def list_workflows(request: Request) -> dict[str, Any]:
    """The served workflows, each with its request schema and its outputs."""
    found = []
    for served in service(request).config.catalog.values():
        found.append(
            {
                "name": served.name,
                "title": served.workflow.NAME,
                "inputs": served.request_model.model_json_schema(),
                "fixed": dict(served.fixed),
                "outputs": {
                    name: {"type": "array", "items": {"kind": kind, "url": "string"}}
                    for name, kind in served.output_kinds().items()
                },
                "links": {"runs": f"/v1/workflows/{served.name}/runs"},
            }
        )
    return {"workflows": found}


@router.get("/healthz", tags=["health"])
async def healthz() -> dict[str, str]:
    """The service is alive."""
    return {"status": "ok"}


@router.get("/readyz", tags=["health"])
async def readyz(request: Request, response: Response) -> dict[str, Any]:
    """503 while no InvokeAI server or the store's database answers, while every queue is full,
    or while the service stops."""
    state = service(request)
    health = state.health
    await health.check()
    ready = state.accepting and health.ready()
    response.status_code = 200 if ready else 503
    servers = {name: bool(answer) for name, answer in health.answers.items()}
    full = [name for name in health.answers if health.full(name)]
    return {
        "status": "ready" if ready else "unavailable",
        "servers": servers,
        "full": full,
        "database": health.database,
    }


__all__ = ["router"]
