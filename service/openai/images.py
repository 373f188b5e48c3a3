"""One OpenAI images request run as one run of ``n`` items of a served workflow through the
service's runner (its items spread over the servers), and its answer in OpenAI's shape."""

from __future__ import annotations

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
) -> RunRecord:
    """Start one run with an item per body and wait for it to end; a run that did not
    complete is canceled and is the request's error."""
    state = service(request)
    first, *more = bodies
    run_id = (await start_run(request, Response(), served, first, None, None, more=more)).id
    try:
        record = await state.runner.wait_final(run_id, state.config.max_wait)
    except BaseException:
        await state.runner.cancel(run_id)
        raise
    if record is None or record.status != "completed":
        await state.runner.cancel(run_id)
        why = record.error if record and record.error else "it did not finish in time"
        raise OpenAIError(500, f"the workflow {served.name!r} failed: {why}")
    return record


def _file_path(state: Service, record: RunRecord, name: str) -> str:
    """The service's path of a run's file: a link signed until the run is deleted, which the
    tools that show the image fetch without the API key (a plain path without a secret)."""
    secret = state.config.webhook_secret
    if secret is None:
        return f"/v1/runs/{record.id}/files/{name}"
    expires = int((record.finished or time.time()) + state.config.keep_hours * 3600)
    return signed_path(secret, record.id, name, expires)


def images_answer(request: Request, record: RunRecord, format_: Format) -> dict[str, Any]:
    """``{"created", "data": [...]}``: each output image of the run's items, as a URL of the
    service's file route or as base64."""
    state = service(request)
    base = str(request.base_url).rstrip("/")
    data = []
    for entries in (record.outputs or {}).values():
        for entry in entries:
            name = entry["file"]
            if format_ == "b64_json":
                raw = (state.runner.files_of(record.id) / name).read_bytes()
                data.append({"b64_json": base64.b64encode(raw).decode()})
            else:
                data.append({"url": base + _file_path(state, record, name)})
    if not data:
        raise OpenAIError(500, f"the workflow {record.workflow!r} made no image")
    return {"created": int(time.time()), "data": data}


__all__ = ["Format", "images_answer", "request_body", "run_images"]
