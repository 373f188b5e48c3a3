"""The server's workflow library (``/api/v1/workflows``) and workflow handles.

On InvokeAI 7.0 a record carries a ``revision``: an update that sends it as
``expected_revision`` is refused with ``RevisionConflictError`` when someone changed the record
since, instead of overwriting that change. A create may choose its ``workflow_id``: created again
with the same id (a retry after a lost answer), the server returns the record it has. Servers
before 7.0 have neither (their records' ``revision`` is None; give no ``expected_revision`` or
``workflow_id`` there: they would be ignored).
"""

from __future__ import annotations

import copy
import itertools
import json
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import httpx
from ivkgen.runtime._repositories._base import AsyncRepository, SyncRepository
from ivkgen.runtime._server.core import Call, operation, parse_model, parse_none
from ivkgen.runtime._server.dto import WorkflowPage, WorkflowRecord
from ivkgen.runtime._server.urls import query, segment
from ivkgen.runtime._workflow.definition import WorkflowDefinition
from ivkgen.runtime._workflow.handle import WorkflowHandle

if TYPE_CHECKING:
    from ivkgen.runtime._client import AsyncInvokeAIClient, InvokeAIClient


OrderBy = Literal["name", "created_at", "updated_at", "opened_at"]
Category = Literal["user", "default", "project"]


def workflow_json(workflow: WorkflowDefinition | Mapping[str, Any]) -> dict[str, Any]:
    """A workflow as the library stores it: a deep copy, without ``id``, in category ``user``
    (the server refuses to create ``default`` workflows, so a copy of one becomes a user workflow).
    """
    data = (
        workflow.to_dict()
        if isinstance(workflow, WorkflowDefinition)
        else copy.deepcopy(dict(workflow))
    )
    if not isinstance(data.get("nodes"), list) or not isinstance(data.get("meta"), dict):
        raise ValueError("not an InvokeAI workflow: 'nodes' (a list) and 'meta' are required")
    data.pop("id", None)
    data["meta"] = {**data["meta"], "category": "user"}
    return data


def _definition(workflow_id: str) -> Callable[[httpx.Response], WorkflowDefinition]:
    def parse(response: httpx.Response) -> WorkflowDefinition:
        record = WorkflowRecord.model_validate(response.json())
        return WorkflowDefinition.from_dict(
            record.workflow, source=f"library workflow {workflow_id}"
        )

    return parse


def _write_file(path: Path) -> Callable[[httpx.Response], Path]:
    def parse(response: httpx.Response) -> Path:
        workflow = WorkflowRecord.model_validate(response.json()).workflow
        path.write_text(json.dumps(workflow, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return path

    return parse


class WorkflowOps:
    """Workflow library operations, written once for the sync and async repositories."""

    @operation
    def list_workflows(
        self,
        *,
        page: int = 0,
        per_page: int | None = None,
        order_by: OrderBy = "name",
        direction: Literal["ASC", "DESC"] = "ASC",
        categories: Sequence[Category] | None = None,
        tags: Sequence[str] | None = None,
        query_text: str | None = None,
        has_been_opened: bool | None = None,
        is_public: bool | None = None,
    ) -> Call[WorkflowPage]:
        """One page of library entries (``per_page=None``: all); ``query_text`` matches name and
        description."""
        params = query(
            page=page,
            per_page=per_page,
            order_by=order_by,
            direction=direction,
            query=query_text,
            has_been_opened=has_been_opened,
            is_public=is_public,
        )
        pairs = [
            *params.items(),
            *(("categories", c) for c in categories or ()),
            *(("tags", t) for t in tags or ()),
        ]
        return Call("GET", "/api/v1/workflows/", parse_model(WorkflowPage), params=pairs)

    @operation
    def get_workflow(self, workflow_id: str) -> Call[WorkflowRecord]:
        """A library entry with its workflow JSON."""
        return Call(
            "GET", f"/api/v1/workflows/i/{segment(workflow_id)}", parse_model(WorkflowRecord)
        )

    @operation
    def create_workflow(
        self, workflow: WorkflowDefinition | Mapping[str, Any], *, workflow_id: str | None = None
    ) -> Call[WorkflowRecord]:
        """Save a workflow in the library as a new user workflow; the server assigns the id,
        or (InvokeAI 7.0) takes ``workflow_id``, so that creating it again is safe."""
        body: dict[str, Any] = {"workflow": workflow_json(workflow)}
        if workflow_id is not None:
            body["workflow_id"] = workflow_id
        return Call("POST", "/api/v1/workflows/", parse_model(WorkflowRecord), json=body)

    @operation
    def update_workflow(
        self,
        workflow_id: str,
        workflow: WorkflowDefinition | Mapping[str, Any],
        *,
        expected_revision: int | None = None,
    ) -> Call[WorkflowRecord]:
        """Replace a user workflow's JSON (default workflows are read-only). With
        ``expected_revision`` (a 7.0 record's ``revision``) a record changed since is not
        overwritten: ``RevisionConflictError``."""
        body: dict[str, Any] = {"workflow": {**workflow_json(workflow), "id": workflow_id}}
        if expected_revision is not None:
            body["expected_revision"] = expected_revision
        return Call(
            "PATCH",
            f"/api/v1/workflows/i/{segment(workflow_id)}",
            parse_model(WorkflowRecord),
            json=body,
        )

    @operation
    def delete_workflow(self, workflow_id: str) -> Call[None]:
        """Delete a user workflow from the library."""
        return Call("DELETE", f"/api/v1/workflows/i/{segment(workflow_id)}", parse_none)

    @operation
    def upload_workflow_file(self, path: str | Path) -> Call[WorkflowRecord]:
        """Load a workflow file exported from the GUI (checked like ``WorkflowDefinition``) and
        save it in the library."""
        return WorkflowOps.create_workflow.call(self, WorkflowDefinition.from_file(path))

    @operation
    def download_workflow(self, workflow_id: str) -> Call[WorkflowDefinition]:
        """A library workflow as a ``WorkflowDefinition``."""
        return Call("GET", f"/api/v1/workflows/i/{segment(workflow_id)}", _definition(workflow_id))

    @operation
    def download_workflow_file(self, workflow_id: str, path: str | Path) -> Call[Path]:
        """Write a library workflow to ``path`` as JSON the GUI can import; returns the path."""
        return Call("GET", f"/api/v1/workflows/i/{segment(workflow_id)}", _write_file(Path(path)))


def _new_handle(
    definition: WorkflowDefinition | Mapping[str, Any] | str | Path,
) -> WorkflowHandle[None]:
    """A new handle on a workflow given as a definition, a workflow dict or a file path."""
    if isinstance(definition, str | Path):
        definition = WorkflowDefinition.from_file(definition)
    elif not isinstance(definition, WorkflowDefinition):
        definition = WorkflowDefinition.from_dict(definition)
    return WorkflowHandle(definition)


ClientT = TypeVar("ClientT", bound="InvokeAIClient | AsyncInvokeAIClient")


class _HandleMaker(Generic[ClientT]):
    """The handles a repository made for its client: every one while it is in use, and those
    of library workflows by id (kept)."""

    def __init__(self, client: ClientT) -> None:
        self._owner = client
        self._made: weakref.WeakValueDictionary[int, WorkflowHandle[ClientT]] = (
            weakref.WeakValueDictionary()
        )
        self._count = itertools.count()
        self._by_id: dict[str, WorkflowHandle[ClientT]] = {}

    def create_workflow_handle(
        self, definition: WorkflowDefinition | Mapping[str, Any] | str | Path
    ) -> WorkflowHandle[ClientT]:
        """A handle to set inputs of a workflow (a definition, a workflow dict or a file path)
        and run it; each call returns a new, independent handle. No request is made."""
        handle = _new_handle(definition).bind_client(self._owner)
        self._made[next(self._count)] = handle
        return handle

    def list_workflow_handles(self) -> list[WorkflowHandle[ClientT]]:
        """The handles this repository made that are still in use, oldest first."""
        return list(self._made.values())


class WorkflowRepository(SyncRepository, WorkflowOps, _HandleMaker["InvokeAIClient"]):
    """``client.workflow_repo``: the server's workflow library and workflow handles."""

    def __init__(self, client: InvokeAIClient) -> None:
        SyncRepository.__init__(self, client)
        _HandleMaker.__init__(self, client)

    def get_workflow_handle(self, workflow_id: str) -> WorkflowHandle[InvokeAIClient]:
        """The handle of a workflow in the server's library: the one this repository already
        made for ``workflow_id``, else a new one loaded from the library (one request)."""
        known = self._by_id.get(workflow_id)
        if known is None:
            known = self.create_workflow_handle(self.download_workflow(workflow_id))
            self._by_id[workflow_id] = known
        return known


class AsyncWorkflowRepository(AsyncRepository, WorkflowOps, _HandleMaker["AsyncInvokeAIClient"]):
    """``async_client.workflow_repo``: the server's workflow library and workflow handles."""

    def __init__(self, client: AsyncInvokeAIClient) -> None:
        AsyncRepository.__init__(self, client)
        _HandleMaker.__init__(self, client)

    async def get_workflow_handle(self, workflow_id: str) -> WorkflowHandle[AsyncInvokeAIClient]:
        """Like ``WorkflowRepository.get_workflow_handle``, awaited."""
        known = self._by_id.get(workflow_id)
        if known is None:
            known = self.create_workflow_handle(await self.download_workflow(workflow_id))
            self._by_id[workflow_id] = known
        return known
