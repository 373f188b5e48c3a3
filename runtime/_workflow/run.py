"""``WorkflowRun``: one submission of a form on a client.

A run knows its queue items (batch, session and item ids, one ``Job`` each), waits for them
(polling, blocking; or awaited, following the server's events: one loop,
:func:`~ivkgen.runtime._jobs.watch.watch_plan`), cancels them, reads and saves their outputs and
cleans up after itself. Both waits return the first item's ``Job``. These methods live on
:class:`Submission`, which ``WorkflowHandle`` shares: it submits its form, keeps the runs
(``handle.runs``) and answers for the latest.
"""

from __future__ import annotations

import os
from abc import abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Generic, TypeAlias

from ivkgen.runtime._errors import NotFoundError
from ivkgen.runtime._jobs.called_items import final_sessions_plan
from ivkgen.runtime._jobs.clients import AnyClient, AsyncClient, SyncClient
from ivkgen.runtime._jobs.outputs import output_files, output_nodes
from ivkgen.runtime._jobs.pacing import recent_busy_seconds
from ivkgen.runtime._jobs.plans import ClientDownloader, Plan, cancel_plan, poll_plan
from ivkgen.runtime._jobs.sessions import remember_session
from ivkgen.runtime._jobs.tracker import Job, JobTracker, SubmitResult
from ivkgen.runtime._jobs.watch import POLL_INTERVAL, Run, listen, watch_plan
from ivkgen.runtime._media import OutputImage, OutputVideo
from ivkgen.runtime._server.dto import SessionQueueItem
from ivkgen.runtime._timeouts import JOB_TIMEOUT
from ivkgen.runtime._workflow.on_client import ClientT, OnClient
from ivkgen.runtime._workflow.workflow_form import WorkflowForm


class Submission(OnClient[ClientT], Generic[ClientT]):
    """The waiting, cancel and outputs of one submission (``_current``): a run's own, a
    handle's latest. The blocking methods need an ``InvokeAIClient``, the awaited ones (``a``
    prefix; ``cancel_async``) take either client."""

    @property
    @abstractmethod
    def _current(self) -> Run:
        """The tracking of the submission the methods answer for."""

    @property
    @abstractmethod
    def _submitted(self) -> WorkflowForm:
        """The form that was submitted (its output nodes name the outputs)."""

    @property
    def jobs(self) -> list[Job]:
        """One ``Job`` per queue item, as known now."""
        return self._current.tracker.jobs()

    # Waiting ----------------------------------------------------------------------------------

    def wait_for_completion_sync(
        self: Submission[SyncClient],
        poll_interval: float = POLL_INTERVAL,
        timeout: float = JOB_TIMEOUT,
        progress_callback: Callable[[SessionQueueItem], None] | None = None,
    ) -> Job:
        """Poll until every item ended, at most ``poll_interval`` apart; returns the first
        item's ``Job`` (all of them: ``jobs``). ``progress_callback`` gets each polled queue
        item. Raises like ``wait_for_completion``."""
        run = self._current
        self._send(
            watch_plan(run, poll_interval, timeout=timeout, progress_callback=progress_callback)
        )
        run.tracker.raise_for_status()
        return run.tracker.job(run.result.item_ids[0])

    async def wait_for_completion(self: BoundSubmission, timeout: float = JOB_TIMEOUT) -> Job:
        """Wait until every item ended, following the server's events (polling when they stop);
        returns the first item's ``Job`` (all of them: ``jobs``). Raises ``JobFailedError`` /
        ``JobCanceledError`` if an item failed or was canceled, ``JobTimeoutError`` after
        ``timeout`` seconds (the job keeps running: wait again or cancel it). Works after a blocking
        submission too (it subscribes, then polls once, so a job that already ended is seen)."""
        run = self._current
        if run.watcher is None:
            result = run.result
            client = self._bound()
            tracking = await listen(client, result.queue_id, result.batch_id, result.item_ids)
            run.start_watching(client, tracking)
        return await run.finished(timeout)

    def _first_item_plan(self) -> Plan[SessionQueueItem]:
        tracker = self._current.tracker
        items = yield from poll_plan(tracker, tracker.item_ids[:1])
        if not items:
            raise NotFoundError(
                f"queue item {tracker.item_ids[0]} is no longer in the queue",
                method="GET",
                path=f"/api/v1/queue/{tracker.queue_id}/i/{tracker.item_ids[0]}",
                status_code=404,
                detail=None,
            )
        return items[0]

    def get_queue_item(self: Submission[SyncClient]) -> SessionQueueItem:
        """The first queue item, read now."""
        return self._send(self._first_item_plan())

    async def aget_queue_item(self: BoundSubmission) -> SessionQueueItem:
        return await self._asend(self._first_item_plan())

    def get_queue_items(self: Submission[SyncClient]) -> list[SessionQueueItem]:
        """Every queue item still in the queue, read now."""
        return self._send(self._items_plan())

    async def aget_queue_items(self: BoundSubmission) -> list[SessionQueueItem]:
        return await self._asend(self._items_plan())

    def _items_plan(self) -> Plan[list[SessionQueueItem]]:
        tracker = self._current.tracker
        return poll_plan(tracker, tracker.item_ids)

    def cancel(self: Submission[SyncClient]) -> list[int]:
        """Cancel the unfinished items; returns their ids."""
        return self._send(cancel_plan(self._current.tracker))

    async def cancel_async(self: BoundSubmission) -> list[int]:
        """Like ``cancel``, awaited."""
        return await self._asend(cancel_plan(self._current.tracker))

    # Outputs ----------------------------------------------------------------------------------

    def _files_plan(self) -> Plan[list[OutputImage | OutputVideo]]:
        tracker, form = self._current.tracker, self._submitted
        yield from final_sessions_plan(tracker)
        nodes = output_nodes(form.definition, form.catalog)
        return output_files(tracker, nodes, form.catalog, ClientDownloader(self._bound()))

    def get_output_files(self: Submission[SyncClient]) -> list[OutputImage | OutputVideo]:
        """The images and videos the output nodes produced, per item (``item_id``), node and
        prepared copy (several under ``iterate``), then those of the workflows its
        ``call_saved_workflow`` nodes called. Reads final sessions if needed."""
        return self._send(self._files_plan())

    async def aget_output_files(self: BoundSubmission) -> list[OutputImage | OutputVideo]:
        return await self._asend(self._files_plan())

    def get_outputs(self: Submission[SyncClient]) -> list[OutputImage]:
        """The images of ``get_output_files``."""
        return _of_kind(self.get_output_files(), OutputImage)

    async def aget_outputs(self: BoundSubmission) -> list[OutputImage]:
        return _of_kind(await self.aget_output_files(), OutputImage)

    def get_output_videos(self: Submission[SyncClient]) -> list[OutputVideo]:
        """The videos of ``get_output_files``."""
        return _of_kind(self.get_output_files(), OutputVideo)

    async def aget_output_videos(self: BoundSubmission) -> list[OutputVideo]:
        return _of_kind(await self.aget_output_files(), OutputVideo)

    def download_outputs(
        self: Submission[SyncClient], folder: str | os.PathLike[str]
    ) -> list[Path]:
        """Save every output image and video into ``folder``; returns the paths."""
        return [file.save(folder) for file in self.get_output_files()]

    async def adownload_outputs(
        self: BoundSubmission, folder: str | os.PathLike[str]
    ) -> list[Path]:
        return [await file.asave(folder) for file in await self.aget_output_files()]


class WorkflowRun(Submission[ClientT], Generic[ClientT]):
    """One submission: its queue items, their waiting, cancel, outputs and clean-up.

    Typed by its client like ``WorkflowHandle``: the blocking methods need an
    ``InvokeAIClient``, the awaited ones (``a`` prefix; ``cancel_async``) take either client.
    """

    def __init__(
        self, client: ClientT, form: WorkflowForm, run: Run, deleted_outputs: set[str] | None = None
    ) -> None:
        self._client = client
        self._form = form
        self._run = run
        self._uploads = form.uploads
        self._catalog = form.catalog
        self._deleted_outputs = set() if deleted_outputs is None else deleted_outputs

    def _watched(self) -> list[Run]:
        return [self._run]

    @property
    def _current(self) -> Run:
        return self._run

    @property
    def _submitted(self) -> WorkflowForm:
        return self._form

    @property
    def tracker(self) -> JobTracker:
        """The run's queue items as followed so far."""
        return self._run.tracker

    @property
    def following(self) -> Run:
        """The run's tracking: its tracker, event callbacks and background watcher."""
        return self._run

    @property
    def result(self) -> SubmitResult:
        """What the submission enqueued."""
        return self._run.result

    @property
    def batch_id(self) -> str:
        return self._run.result.batch_id

    @property
    def session_id(self) -> str | None:
        """The session id of the first item."""
        return self._run.result.session_id

    @property
    def item_ids(self) -> list[int]:
        return list(self._run.result.item_ids)


BoundSubmission: TypeAlias = "Submission[SyncClient] | Submission[AsyncClient]"
"""A run or handle with a client of either kind: what the awaited methods take."""


def _of_kind(files: Sequence[OutputImage | OutputVideo], kind: type[Any]) -> list[Any]:
    return [file for file in files if isinstance(file, kind)]


def new_run(
    client: AnyClient,
    form: WorkflowForm,
    result: SubmitResult,
    sent_at: float,
    earlier: Sequence[WorkflowRun[Any]] = (),
    deleted_outputs: set[str] | None = None,
) -> WorkflowRun[Any]:
    """The run of a submission that ``client`` sent at ``sent_at`` (``time.monotonic()``) and
    the server answered with ``result``; ``earlier`` runs of the same form pace its polls, and
    ``deleted_outputs`` is shared with the handle, so no output is asked for twice."""
    tracker = JobTracker(
        result.queue_id, result.batch_id, result.item_ids, node_labels=form.node_labels
    )
    busy = recent_busy_seconds([run.tracker for run in earlier])
    remember_session(client, result)
    following = Run(result, tracker, busy_history=busy, sent_at=sent_at)
    return WorkflowRun(client, form, following, deleted_outputs)
