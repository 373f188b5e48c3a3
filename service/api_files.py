"""``GET /v1/runs/{id}/files/{file}``: one output file of a run, to its owner, or to anyone with
a signed link to it (:mod:`.file_links`)."""

from __future__ import annotations

import mimetypes
import time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from ivkgen.service.file_links import link_holds
from ivkgen.service.problems import Forbidden, NotFound
from ivkgen.service.state import owned_run, service
from ivkgen.service.store import RunRecord

router = APIRouter(prefix="/v1/runs", tags=["runs"])


def _linked_run(
    request: Request, run_id: str, file: str, expires: int, signature: str
) -> RunRecord:
    """The run a signed link names, when the link holds."""
    state = service(request)
    record = state.store.get_run(run_id)
    if record is None:
        raise NotFound(f"no run {run_id!r}")
    if not link_holds(state.config.webhook_secret, run_id, file, expires, signature, time.time()):
        raise Forbidden("the link to this file is not valid or has expired")
    return record


@router.get("/{run_id}/files/{file}", response_class=FileResponse)
async def run_file(
    request: Request,
    run_id: str,
    file: str,
    expires: Annotated[int | None, Query(description="a signed link's end (epoch seconds)")] = None,
    signature: Annotated[str | None, Query(description="a signed link's signature")] = None,
) -> FileResponse:
    """One output file of the run: the caller's own run, or any run through a signed link."""
    if expires is not None and signature is not None:
        record = _linked_run(request, run_id, file, expires, signature)
    else:
        record = owned_run(request, run_id)
    names = {e["file"] for entries in (record.outputs or {}).values() for e in entries}
    path = service(request).runner.files_of(run_id) / file
    if file not in names or not path.is_file():
        raise NotFound(f"run {run_id} has no output file {file!r}")
    media_type = mimetypes.guess_type(file)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media_type)


__all__ = ["router"]
