"""The run resource as the API shows it: status, timings, error, outputs and links."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ivkgen.service.store import RunRecord
from pydantic import BaseModel


class OutputFile(BaseModel):
    file: str
    kind: str
    url: str
    server: str | None = None
    """The InvokeAI server that made it."""
    base64: str | None = None


class RunResource(BaseModel):
    """A run: ``outputs`` maps each attribute of the workflow's Outputs class to its files."""

    id: str
    workflow: str
    status: str
    queue_position: int | None = None
    """While ``queued`` in the service: its place among the runs waiting to be sent (1: next)."""
    server_position: int | None = None
    """While its item is pending on InvokeAI: its place in that server's queue (1: next)."""
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    duration_seconds: float | None = None
    server: str | None = None
    error: str | None = None
    inputs: dict[str, Any]
    batch: list[dict[str, Any]] = []
    """A run of several items (OpenAI's ``n``): how each item's inputs differ from ``inputs``."""
    outputs: dict[str, list[OutputFile]] | None = None
    links: dict[str, str]


def _moment(value: float | None) -> str | None:
    if value is None:
        return None
    return datetime.fromtimestamp(value, UTC).isoformat(timespec="milliseconds")


def run_links(run_id: str) -> dict[str, str]:
    base = f"/v1/runs/{run_id}"
    return {"self": base, "events": f"{base}/events", "cancel": base}


def run_resource(
    record: RunRecord,
    *,
    position: int | None = None,
    server_position: int | None = None,
    files: Path | None = None,
    inline_limit: int = 0,
) -> RunResource:
    """The resource of ``record``; with ``files`` (the run's folder) and an ``inline_limit``,
    each output file up to that many bytes also comes as base64."""
    outputs = None
    if record.outputs is not None:
        outputs = {
            attribute: [_output(record.id, entry, files, inline_limit) for entry in entries]
            for attribute, entries in record.outputs.items()
        }
    started, finished = record.started, record.finished
    return RunResource(
        id=record.id,
        workflow=record.workflow,
        status=record.status,
        queue_position=position,
        server_position=server_position,
        created_at=_moment(record.created) or "",
        started_at=_moment(started),
        finished_at=_moment(finished),
        duration_seconds=(finished - started) if started and finished else None,
        server=record.server,
        error=record.error,
        inputs=record.inputs,
        batch=record.batch,
        outputs=outputs,
        links=run_links(record.id),
    )


def _output(
    run_id: str, entry: dict[str, Any], files: Path | None, inline_limit: int
) -> OutputFile:
    name = str(entry["file"])
    inline = None
    if files is not None and inline_limit > 0:
        path = files / name
        if path.is_file() and path.stat().st_size <= inline_limit:
            inline = base64.b64encode(path.read_bytes()).decode()
    url = f"/v1/runs/{run_id}/files/{name}"
    server = entry.get("server")
    return OutputFile(file=name, kind=str(entry["kind"]), url=url, server=server, base64=inline)


__all__ = ["OutputFile", "RunResource", "run_links", "run_resource"]
