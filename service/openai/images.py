"""One OpenAI images request run as ``n`` runs of a served workflow through the service's
runner (spread over the servers, the least busy first), and its answer in OpenAI's shape."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any, Literal

from fastapi import Request, Response
from ivkgen.service.api_runs import start_run
from ivkgen.service.catalog import ServedWorkflow
from ivkgen.service.file_links import signed_path
from ivkgen.service.openai.binding import Binding
from ivkgen.service.openai.errors import OpenAIError
from ivkgen.service.openai.sizes import sizes_that_work
from ivkgen.service.state import Service, service
from ivkgen.service.store import RunRecord
from pydantic import BaseModel, ValidationError

Format = Literal["url", "b64_json"]


def request_body(
    served: ServedWorkflow,
    binding: Binding,
    values: dict[str, Any],
    field_of: dict[str, str],
    size: str | None,
) -> BaseModel:
    """The workflow's request of ``values`` (input attribute -> value); a value its inputs
    refuse is a 400 naming the OpenAI field (``field_of``: attribute -> field), a refused
    ``size`` saying which sizes work."""
    try:
        return served.request_model.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        attribute = str(error["loc"][0]) if error["loc"] else ""
        param = field_of.get(attribute, attribute)
        message = f"{param}: {error['msg']}"
        if param == "size":
            works = sizes_that_work(served.request_model, binding)
            message = f"size {size} is refused by model {served.name!r}: {works}"
        raise OpenAIError(400, message, param=param) from None


async def run_images(
    request: Request, served: ServedWorkflow, bodies: list[BaseModel]
) -> list[RunRecord]:
    """Start one run per body, wait for them all to end; a run that did not complete (or a
    refused start) cancels the others and is the request's error."""
    state = service(request)
    started: list[str] = []
    try:
        for body in bodies:
            resource = await start_run(request, Response(), served, body, None, None)
            started.append(resource.id)
        waits = [state.runner.wait_final(run_id, state.config.max_wait) for run_id in started]
        records = [r for r in await asyncio.gather(*waits) if r is not None]
    except BaseException:
        await asyncio.gather(*(state.runner.cancel(run_id) for run_id in started))
        raise
    unfinished = [r for r in records if r.status != "completed"]
    if unfinished or len(records) != len(started):
        await asyncio.gather(*(state.runner.cancel(run_id) for run_id in started))
        failed = unfinished[0] if unfinished else None
        why = failed.error if failed and failed.error else "it did not finish in time"
        raise OpenAIError(500, f"the workflow {served.name!r} failed: {why}")
    return records


def _file_path(state: Service, record: RunRecord, name: str) -> str:
    """The service's path of a run's file: a link signed until the run is deleted, which the
    tools that show the image fetch without the API key (a plain path without a secret)."""
    secret = state.config.webhook_secret
    if secret is None:
        return f"/v1/runs/{record.id}/files/{name}"
    expires = int((record.finished or time.time()) + state.config.keep_hours * 3600)
    return signed_path(secret, record.id, name, expires)


def images_answer(request: Request, records: list[RunRecord], format_: Format) -> dict[str, Any]:
    """``{"created", "data": [...]}``: each output image of each run, as a URL of the service's
    file route or as base64."""
    state = service(request)
    base = str(request.base_url).rstrip("/")
    data = []
    for record in records:
        for entries in (record.outputs or {}).values():
            for entry in entries:
                name = entry["file"]
                if format_ == "b64_json":
                    raw = (state.runner.files_of(record.id) / name).read_bytes()
                    data.append({"b64_json": base64.b64encode(raw).decode()})
                else:
                    data.append({"url": base + _file_path(state, record, name)})
    if not data:
        raise OpenAIError(500, f"the workflow {records[0].workflow!r} made no image")
    return {"created": int(time.time()), "data": data}


__all__ = ["Format", "images_answer", "request_body", "run_images"]
