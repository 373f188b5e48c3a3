"""``WorkflowHandle``: the seed's facade over a form and its runs.

A handle is a :class:`~ivkgen.runtime._workflow.workflow_form.WorkflowForm` (its inputs, their
validation, the enqueue body and the image and video inputs; a handle without a client is just
that) bound to a client: it submits its form, keeps each submission's
:class:`~ivkgen.runtime._workflow.run.WorkflowRun` (``runs``) and answers for the latest one
with the run's own methods (waiting, cancel, outputs: a
:class:`~ivkgen.runtime._workflow.run.Submission`), while its clean-up and its context managers
cover all of its runs.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeAlias, TypeVar, cast, overload

from ivkgen.runtime._events.socket import EventSocket
from ivkgen.runtime._jobs.clients import AnyClient, AsyncClient, SyncClient
from ivkgen.runtime._jobs.enqueue import features_plan
from ivkgen.runtime._jobs.tracker import SubmitResult
from ivkgen.runtime._jobs.watch import EventCallback, Run, invocation_callbacks, listen
from ivkgen.runtime._repositories.queue import DEFAULT_QUEUE
from ivkgen.runtime._workflow.catalog import Catalog
from ivkgen.runtime._workflow.definition import WorkflowDefinition
from ivkgen.runtime._workflow.on_client import ClientT
from ivkgen.runtime._workflow.run import Submission, WorkflowRun, new_run
from ivkgen.runtime._workflow.workflow_form import WorkflowForm

BoundT = TypeVar("BoundT", bound="SyncClient | AsyncClient")


class WorkflowHandle(WorkflowForm, Submission[ClientT], Generic[ClientT]):
    """One workflow's inputs, set by index, label or node and field, and its runs on a server.

    Typed by its client: a ``WorkflowHandle[InvokeAIClient]`` has the blocking methods
    (``submit_sync()``, ``wait_for_completion_sync()``, ``get_outputs()``, ``cleanup_*()``,
    ``with``) and the awaited ones (``submit()``, ``wait_for_completion()``, ``aget_outputs()``,
    ``acleanup_*()``, ``async with``), a ``WorkflowHandle[AsyncInvokeAIClient]`` only the awaited
    ones, a handle without a client neither; mypy rejects the others.
    """

    @overload
    def __init__(
        self: WorkflowHandle[None], definition: WorkflowDefinition, catalog: Catalog | None = None
    ) -> None: ...

    @overload
    def __init__(
        self: WorkflowHandle[BoundT],
        definition: WorkflowDefinition,
        catalog: Catalog | None = None,
        *,
        client: BoundT,
    ) -> None: ...

    def __init__(
        self,
        definition: WorkflowDefinition,
        catalog: Catalog | None = None,
        *,
        client: AnyClient | None = None,
    ) -> None:
        super().__init__(definition, catalog)
        self._client = cast(ClientT, client)
        self._uploads = self.uploads
        self._runs: list[WorkflowRun[ClientT]] = []
        self._deleted_outputs: set[str] = set()

    def bind_client(self, client: BoundT) -> WorkflowHandle[BoundT]:
        """Run on ``client`` (an ``InvokeAIClient`` or ``AsyncInvokeAIClient``); returns the
        handle, typed by that client. ``workflow_repo.create_workflow_handle`` does this."""
        self._client = cast(ClientT, client)
        return cast(WorkflowHandle[BoundT], self)

    @property
    def runs(self) -> list[WorkflowRun[ClientT]]:
        """Every submission of the handle, oldest first."""
        return list(self._runs)

    def _watched(self) -> list[Run]:
        return [run.following for run in self._runs]

    @property
    def _latest(self) -> WorkflowRun[ClientT]:
        if not self._runs:
            raise RuntimeError("the workflow was not submitted yet: call submit_sync() or submit()")
        return self._runs[-1]

    @property
    def _current(self) -> Run:
        return self._latest.following

    @property
    def _submitted(self) -> WorkflowForm:
        return self

    @property
    def batch_id(self) -> str | None:
        """The batch id of the latest submission (None before the first)."""
        return self._runs[-1].batch_id if self._runs else None

    @property
    def session_id(self) -> str | None:
        """The session id of the first item of the latest submission (None before the first)."""
        return self._runs[-1].session_id if self._runs else None

    @property
    def item_ids(self) -> list[int]:
        """The queue item ids of the latest submission."""
        return self._runs[-1].item_ids if self._runs else []

    # Submission -------------------------------------------------------------------------------

    def _add_run(self, result: SubmitResult, sent_at: float) -> WorkflowRun[ClientT]:
        run = new_run(self._bound(), self, result, sent_at, self._runs, self._deleted_outputs)
        self._runs.append(run)
        return run

    def submit_sync(
        self: WorkflowHandle[SyncClient],
        queue_id: str = DEFAULT_QUEUE,
        board_id: str | None = None,
        priority: int = 0,
        runs: int = 1,
        *,
        sweep: Mapping[int | str, Sequence[Any]] | None = None,
    ) -> SubmitResult:
        """Enqueue the workflow with the current inputs; returns batch id, count and item ids.

        ``board_id`` (a board's id or name) takes every output of the run (board inputs the
        user changed keep their value); ``priority`` 1 puts the items ahead of the pending ones,
        0 after them (the server has no other priorities: other values warn); ``runs`` repeats
        the batch; ``sweep`` maps inputs (index or label) to lists of values, zipped, one queue
        item per value (times ``runs``).
        """
        _, plan = self.submission(queue_id, board_id, priority, runs, sweep)
        sent_at = time.monotonic()
        return self._add_run(self._send(plan), sent_at).result

    async def submit(
        self: BoundHandle,
        queue_id: str = DEFAULT_QUEUE,
        board_id: str | None = None,
        priority: int = 0,
        runs: int = 1,
        *,
        sweep: Mapping[int | str, Sequence[Any]] | None = None,
        subscribe_events: bool = True,
        socket: EventSocket | None = None,
        on_invocation_started: EventCallback | None = None,
        on_invocation_progress: EventCallback | None = None,
        on_invocation_complete: EventCallback | None = None,
        on_invocation_error: EventCallback | None = None,
    ) -> SubmitResult:
        """Enqueue like ``submit_sync`` and start tracking in the background.

        With ``subscribe_events`` the job listens on the event socket (``socket``, else the
        client's), subscribed before the enqueue; the ``on_invocation_*`` callbacks receive this
        job's typed events only. Await ``wait_for_completion`` for the outcome.
        """
        request, plan = self.submission(queue_id, board_id, priority, runs, sweep)
        client = self._bound()
        tracking = None
        if subscribe_events:
            await self._asend(features_plan())  # the server first, so a wrong URL is one error
            tracking = await listen(client, queue_id, request.batch_id, socket=socket)
        sent_at = time.monotonic()
        try:
            result = await self._asend(plan)
        except BaseException:
            if tracking is not None:
                await tracking.close()
            raise
        run = self._add_run(result, sent_at).following
        run.callbacks = invocation_callbacks(
            on_invocation_started,
            on_invocation_progress,
            on_invocation_complete,
            on_invocation_error,
        )
        run.start_watching(client, tracking, poll_first=tracking is None)
        return result


BoundHandle: TypeAlias = "WorkflowHandle[SyncClient] | WorkflowHandle[AsyncClient]"
"""A handle with a client of either kind: what the awaited methods take."""
