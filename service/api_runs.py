"""The run routes: start one (one route per served workflow, its body the request model), read,
cancel, follow its events, fetch its files."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from ivkgen.service.catalog import ServedWorkflow
from ivkgen.service.events import last_event_id
from ivkgen.service.intake import read_media
from ivkgen.service.model_names import with_models_named
from ivkgen.service.multipart import form_schema
from ivkgen.service.outbound import check_outbound_url
from ivkgen.service.problems import (
    Problem,
    TooManyPending,
    Unavailable,
    Unprocessable,
    input_error,
)
from ivkgen.service.resources import RunResource, run_resource
from ivkgen.service.state import Service, authorized, owned_run, owner, service
from ivkgen.service.store import RunExists, RunRecord
from pydantic import BaseModel

RETRY_AFTER_SECONDS = 5
MEDIA_SUFFIX = {"image": "png", "video": "mp4"}
_WAIT = re.compile(r"(?:^|[,;\s])wait\s*=\s*(\d+)", re.IGNORECASE)

router = APIRouter(prefix="/v1/runs", tags=["runs"], dependencies=[Depends(authorized)])
WEBHOOK_HELP = (
    "a URL the run's status events are sent to, signed (Standard Webhooks); its host must be "
    "one the service allows"
)


def wait_seconds(prefer: str | None, longest: float) -> float | None:
    """The ``wait=N`` preference of a ``Prefer`` header (RFC 7240), at most ``longest``."""
    found = _WAIT.search(prefer or "")
    return min(float(found.group(1)), longest) if found else None


def _answer(
    state: Service, response: Response, record: RunRecord, waited: float | None
) -> RunResource:
    response.status_code = 200 if record.final else 202
    response.headers["Location"] = f"/v1/runs/{record.id}"
    if waited is not None:
        response.headers["Preference-Applied"] = f"wait={waited:g}"
    return run_resource(record, position=state.runner.position(record.id))


def _changes(inputs: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """The values of ``other`` that differ from ``inputs``."""
    return {name: value for name, value in other.items() if inputs.get(name) != value}


async def start_run(
    request: Request,
    response: Response,
    served: ServedWorkflow,
    body: BaseModel,
    prefer: str | None,
    idempotency_key: str | None,
    webhook: str | None = None,
    more: Sequence[BaseModel] = (),
) -> RunResource:
    """Record a run of ``served`` and follow it; answer at once or, asked, when it ended.
    With ``more`` requests, the run has an item for each of ``body`` and ``more``."""
    state = service(request)
    if not state.accepting:
        raise Unavailable("the service is stopping", retry_after=RETRY_AFTER_SECONDS)
    caller = owner(request)
    run_id = uuid.uuid4().hex
    inputs = served.run_inputs(body)
    batch = [_changes(inputs, served.run_inputs(other)) for other in (body, *more)] if more else []
    asked = json.dumps([served.name, inputs, webhook, batch], sort_keys=True).encode()
    digest = hashlib.sha256(asked).hexdigest()
    waited = wait_seconds(prefer, state.config.max_wait)
    if idempotency_key:
        earlier = state.store.find_idempotent(caller, idempotency_key)
        if earlier is not None:
            return await _repeat(state, response, earlier, digest, waited)
    if not state.health.any_answers():
        raise Unavailable(
            "no InvokeAI server answers: retry later", retry_after=RETRY_AFTER_SECONDS
        )
    if state.store.count_unfinished() >= state.config.max_pending:
        raise TooManyPending(
            f"{state.config.max_pending} runs are pending already: retry later",
            retry_after=RETRY_AFTER_SECONDS,
        )
    if webhook is not None:
        await _check_webhook(state, webhook)
    inputs = await media_files(state, served, inputs, state.runner.files_of(run_id))
    try:
        inputs = await with_models_named(state, served, inputs)
    except Problem:
        shutil.rmtree(state.runner.files_of(run_id), ignore_errors=True)
        raise
    record = RunRecord(
        id=run_id,
        owner=caller,
        workflow=served.name,
        inputs=inputs,
        status="queued",
        created=time.time(),
        idempotency_key=idempotency_key or None,
        request_digest=digest,
        webhook=webhook,
        batch=batch,
    )
    try:
        state.store.create_run(record)
    except RunExists:  # the same key raced in
        earlier = state.store.find_idempotent(caller, idempotency_key or "")
        assert earlier is not None
        return await _repeat(state, response, earlier, digest, waited)
    state.runner.start(record)
    position = state.runner.position(record.id)
    await state.runner.publish(record.id, "queued", {"status": "queued", "position": position})
    if waited is not None:
        record = await state.runner.wait_final(record.id, waited) or record
    return _answer(state, response, record, waited)


async def _check_webhook(state: Service, url: str) -> None:
    if state.config.webhook_secret is None:
        raise Unprocessable(
            "this service sends no webhooks", errors=[input_error("webhook", "not taken")]
        )
    await check_outbound_url(url, state.config.urls)


async def _repeat(
    state: Service, response: Response, earlier: RunRecord, digest: str, waited: float | None
) -> RunResource:
    """A retried POST: the run its key started, if it asked the same."""
    if earlier.request_digest != digest:
        raise Unprocessable(
            "this Idempotency-Key was used for another request: use a new key",
            errors=[input_error("Idempotency-Key", "used for another request")],
        )
    if waited is not None:
        earlier = await state.runner.wait_final(earlier.id, waited) or earlier
    return _answer(state, response, earlier, waited)


async def media_files(
    state: Service, served: ServedWorkflow, inputs: dict[str, Any], folder: Path
) -> dict[str, Any]:
    """``inputs`` with each media value read (data URI, base64, allowed URL) into a file of the
    run's folder, given by its path: the pool uploads it to the server that runs the item."""
    given = {a: inputs[a] for a in served.media if isinstance(inputs.get(a), str)}
    if not given:
        return inputs
    read = {a: await read_media(v, state.config.urls, input_name=a) for a, v in given.items()}
    (folder / "inputs").mkdir(parents=True, exist_ok=True)
    paths = {}
    for attribute, content in read.items():
        path = folder / "inputs" / f"{attribute}.{MEDIA_SUFFIX[served.media[attribute]]}"
        path.write_bytes(content)
        paths[attribute] = str(path)
    return {**inputs, **paths}


def workflow_route(served: ServedWorkflow) -> APIRouter:
    """``POST /v1/workflows/{name}/runs`` of one workflow, its body the request model (or, for a
    workflow with media inputs, a form whose files are those inputs)."""
    route = APIRouter(tags=["workflows"], dependencies=[Depends(authorized)])

    async def create_run(
        request: Request,
        response: Response,
        body: Any,
        prefer: Annotated[str | None, Header()] = None,
        idempotency_key: Annotated[str | None, Header()] = None,
        webhook: Annotated[str | None, Query(description=WEBHOOK_HELP)] = None,
    ) -> RunResource:
        return await start_run(request, response, served, body, prefer, idempotency_key, webhook)

    create_run.__annotations__["body"] = served.request_model
    doc = (served.workflow.inputs_class.__doc__ or "").strip()
    route.add_api_route(
        f"/v1/workflows/{served.name}/runs",
        create_run,
        methods=["POST"],
        status_code=202,
        response_model=RunResource,
        summary=f"Run {served.workflow.NAME}",
        description=f"Start a run of workflow {served.name!r}. {doc}",
        operation_id=f"run_{served.name}",
        openapi_extra=form_schema(dict(served.media)) if served.media else None,
    )
    return route


@router.get("/{run_id}", response_model=RunResource)
async def get_run(request: Request, run_id: str, inline: bool = False) -> RunResource:
    """The run: status, its place in the service's queue or its item's in InvokeAI's, timings,
    error, outputs (``inline=true``: small files as base64)."""
    record = owned_run(request, run_id)
    state = service(request)
    position = state.runner.position(run_id)
    placed = await state.runner.server_position(run_id)
    if not inline:
        return run_resource(record, position=position, server_position=placed)
    files = state.runner.files_of(run_id)
    limit = state.config.inline_limit
    return run_resource(
        record, position=position, server_position=placed, files=files, inline_limit=limit
    )


@router.delete("/{run_id}", response_model=RunResource)
async def cancel_run(request: Request, run_id: str) -> RunResource:
    """Cancel the run: its queue item is canceled and what it made on InvokeAI deleted."""
    record = owned_run(request, run_id)
    if record.final:
        raise Problem(409, "Conflict", f"run {run_id} already ended ({record.status})")
    state = service(request)
    await state.runner.cancel(run_id)
    return run_resource(state.store.get_run(run_id) or record)


@router.get("/{run_id}/events", response_class=StreamingResponse)
async def run_events(
    request: Request,
    run_id: str,
    last_event: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """Server-Sent Events of the run, from after ``Last-Event-ID`` to its final one."""
    owned_run(request, run_id)
    stream = service(request).hub.stream(run_id, last_event_id(last_event))
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)


__all__ = ["router", "start_run", "wait_seconds", "workflow_route"]
