"""``WorkflowHandle``: the seed's facade over a form and its runs.

A handle is a :class:`~ivkgen.runtime.workflow.workflow_form.WorkflowForm` (its inputs, their
validation, the enqueue body and the image and video inputs; a handle without a client is just
that) bound to a client: it submits its form, keeps each submission's
:class:`~ivkgen.runtime.workflow.run.WorkflowRun` (``runs``) and answers for the latest one
(waiting, cancel, outputs), while its clean-up and its context managers cover all of its runs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Generic, TypeAlias, TypeVar, cast, overload

from ivkgen.runtime.events.socket import EventSocket
from ivkgen.runtime.jobs.clients import AnyClient, AsyncClient, SyncClient
from ivkgen.runtime.jobs.enqueue import features_plan
from ivkgen.runtime.jobs.tracker import Job, SubmitResult
from ivkgen.runtime.jobs.watch import (
    POLL_INTERVAL,
    EventCallback,
    Run,
    invocation_callbacks,
    listen,
)
from ivkgen.runtime.media import OutputImage, OutputVideo
from ivkgen.runtime.repositories.queue import DEFAULT_QUEUE
from ivkgen.runtime.server.dto import SessionQueueItem
from ivkgen.runtime.timeouts import JOB_TIMEOUT
from ivkgen.runtime.workflow.catalog import Catalog
from ivkgen.runtime.workflow.definition import WorkflowDefinition
from ivkgen.runtime.workflow.on_client import ClientT, OnClient
from ivkgen.runtime.workflow.run import WorkflowRun, new_run
from ivkgen.runtime.workflow.workflow_form import WorkflowForm

BoundT = TypeVar("BoundT", bound="SyncClient | AsyncClient")


class WorkflowHandle(WorkflowForm, OnClient[ClientT], Generic[ClientT]):
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

    @property
    def jobs(self) -> list[Job]:
        """One ``Job`` per queue item of the latest submission, as known now."""
        return self._latest.jobs

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

    # The latest submission (see ``WorkflowRun``) ----------------------------------------------

    def wait_for_completion_sync(
        self: WorkflowHandle[SyncClient],
        poll_interval: float = POLL_INTERVAL,
        timeout: float = JOB_TIMEOUT,
        progress_callback: Callable[[SessionQueueItem], None] | None = None,
    ) -> Job:
        """Poll until every item of the latest submission ended, at most ``poll_interval``
        apart; returns the first item's ``Job``, as ``wait_for_completion`` does.
        ``progress_callback`` gets each polled queue item. Raises like ``wait_for_completion``."""
        return self._latest.wait_for_completion_sync(poll_interval, timeout, progress_callback)

    async def wait_for_completion(self: BoundHandle, timeout: float = JOB_TIMEOUT) -> Job:
        """Wait until every item of the latest submission ended; returns the first item's
        ``Job`` (all of them: ``jobs``). Raises ``JobFailedError`` / ``JobCanceledError`` if an
        item failed or was canceled, ``JobTimeoutError`` after ``timeout`` seconds (the job keeps
        running: wait again or cancel it). Works after ``submit_sync`` too (it subscribes, then
        polls once, so a job that already ended is seen)."""
        return await self._latest.wait_for_completion(timeout)

    def get_queue_item(self: WorkflowHandle[SyncClient]) -> SessionQueueItem:
        """The first queue item of the latest submission, read now."""
        return self._latest.get_queue_item()

    async def aget_queue_item(self: BoundHandle) -> SessionQueueItem:
        return await self._latest.aget_queue_item()

    def get_queue_items(self: WorkflowHandle[SyncClient]) -> list[SessionQueueItem]:
        """Every queue item of the latest submission still in the queue, read now."""
        return self._latest.get_queue_items()

    async def aget_queue_items(self: BoundHandle) -> list[SessionQueueItem]:
        return await self._latest.aget_queue_items()

    def cancel(self: WorkflowHandle[SyncClient]) -> list[int]:
        """Cancel the unfinished items of the latest submission; returns their ids."""
        return self._latest.cancel()

    async def cancel_async(self: BoundHandle) -> list[int]:
        """Like ``cancel``, awaited."""
        return await self._latest.cancel_async()

    def get_output_files(self: WorkflowHandle[SyncClient]) -> list[OutputImage | OutputVideo]:
        """The images and videos the output nodes produced in the latest submission (see
        ``WorkflowRun.get_output_files``)."""
        return self._latest.get_output_files()

    async def aget_output_files(self: BoundHandle) -> list[OutputImage | OutputVideo]:
        return await self._latest.aget_output_files()

    def get_outputs(self: WorkflowHandle[SyncClient]) -> list[OutputImage]:
        """The images of ``get_output_files``."""
        return self._latest.get_outputs()

    async def aget_outputs(self: BoundHandle) -> list[OutputImage]:
        return await self._latest.aget_outputs()

    def get_output_videos(self: WorkflowHandle[SyncClient]) -> list[OutputVideo]:
        """The videos of ``get_output_files``."""
        return self._latest.get_output_videos()

    async def aget_output_videos(self: BoundHandle) -> list[OutputVideo]:
        return await self._latest.aget_output_videos()

    def download_outputs(
        self: WorkflowHandle[SyncClient], folder: str | os.PathLike[str]
    ) -> list[Path]:
        """Save every output image and video of the latest submission into ``folder``; returns
        the paths."""
        return self._latest.download_outputs(folder)

    async def adownload_outputs(self: BoundHandle, folder: str | os.PathLike[str]) -> list[Path]:
        return await self._latest.adownload_outputs(folder)


BoundHandle: TypeAlias = "WorkflowHandle[SyncClient] | WorkflowHandle[AsyncClient]"
"""A handle with a client of either kind: what the awaited methods take."""
