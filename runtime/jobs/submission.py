"""Submit a ``WorkflowHandle`` to the server, track it, collect its outputs and clean up after it.

``SubmissionMixin`` gives ``WorkflowHandle`` its server side. Every server step is a plan
(:mod:`.plans`) run by the sync methods with a sync client and by the async methods with an
async client (or a sync one in a worker thread), so both share every decision.

Tracking: ``wait_for_completion_sync`` polls the items, paced by :class:`.pacing.PollPacer`
(soon after the enqueue, near the end the handle's earlier items predict). The async ``submit``
subscribes to the event socket *before* enqueueing (the client chooses the batch id, so the
subscription's filter is known in advance) and starts :func:`.watch.watch`, which follows
the job by events with polling as the safety net. A job ends only on a terminal status of its
own items.

Clean-up removes only what this handle created: the images and videos it uploaded, the images
and videos its queue items (and the items their ``call_saved_workflow`` nodes enqueued) saved,
checked by ``session_id``, and those queue items. Using the handle as a (async) context
manager cancels unfinished items and deletes the uploads on exit, also after an error.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

from ivkgen.runtime.errors import IvkgenError, NotFoundError, QueueFullWarning
from ivkgen.runtime.events.messages import (
    Event,
    InvocationCompleteEvent,
    InvocationErrorEvent,
    InvocationProgressEvent,
    InvocationStartedEvent,
)
from ivkgen.runtime.events.socket import EventSocket
from ivkgen.runtime.jobs.boards import board_id_plan, board_overrides
from ivkgen.runtime.jobs.cleanup import delete_items_plan, delete_outputs_plan
from ivkgen.runtime.jobs.enqueue import enqueue_plan
from ivkgen.runtime.jobs.outputs import OutputImage, OutputVideo, output_files, output_nodes
from ivkgen.runtime.jobs.pacing import recent_busy_seconds
from ivkgen.runtime.jobs.plans import (
    IMAGES,
    MODELS,
    VIDEOS,
    Plan,
    cancel_plan,
    drive,
    drive_sync,
    poll_plan,
    settle_plan,
    status_plan,
)
from ivkgen.runtime.jobs.resolve import FieldRef, model_fields, resolve_models
from ivkgen.runtime.jobs.sessions import first_item_plan, remember_session
from ivkgen.runtime.jobs.tracker import Job, JobTracker, SubmitResult
from ivkgen.runtime.jobs.uploads import (
    PendingImage,
    PendingVideo,
    Uploaded,
    UploadTracker,
    delete_uploads_plan,
    upload_plan,
)
from ivkgen.runtime.jobs.watch import POLL_INTERVAL, EventCallback, Run, watch
from ivkgen.runtime.repositories.images import ImageOps, ImageSource
from ivkgen.runtime.repositories.models import ModelOps
from ivkgen.runtime.repositories.queue import DEFAULT_QUEUE, prepend_for
from ivkgen.runtime.repositories.videos import VideoOps, VideoSource
from ivkgen.runtime.server.core import AsyncBound, SyncBound
from ivkgen.runtime.server.dto import EnqueueBatchResult, ImageCategory, SessionQueueItem
from ivkgen.runtime.workflow.blockers import require_runnable

if TYPE_CHECKING:
    from ivkgen.runtime.fields import IvkField
    from ivkgen.runtime.workflow.catalog import Catalog
    from ivkgen.runtime.workflow.definition import WorkflowDefinition
    from ivkgen.runtime.workflow.form import IvkWorkflowInput

log = logging.getLogger("ivkgen.runtime.jobs.submission")

T = TypeVar("T")

DEFAULT_TIMEOUT = 60.0


@dataclass
class _State:
    client: SyncBound | AsyncBound | None = None
    uploads: UploadTracker = field(default_factory=UploadTracker)
    runs: list[Run] = field(default_factory=list)
    deleted_outputs: set[str] = field(default_factory=set)


# The mixin -----------------------------------------------------------------------------------


class SubmissionMixin:
    """Submission, tracking, outputs, uploads and clean-up of a ``WorkflowHandle``."""

    if TYPE_CHECKING:

        @property
        def definition(self) -> WorkflowDefinition: ...

        @property
        def catalog(self) -> Catalog: ...

        def get_input(self, index: int) -> IvkWorkflowInput: ...

        def find_input(
            self, label: str | None = None, *, node: str | None = None, field: str | None = None
        ) -> IvkWorkflowInput: ...

        def list_inputs(self) -> list[IvkWorkflowInput]: ...

        def workflow_with_values(self) -> dict[str, Any]: ...

        def _changes(self) -> dict[FieldRef, Any]: ...

        def _enqueue_body(
            self, overrides: Mapping[FieldRef, Any], **options: Any
        ) -> dict[str, Any]: ...

    # State -----------------------------------------------------------------------------------

    @property
    def _state(self) -> _State:
        state: _State | None = self.__dict__.get("_submission_state")
        if state is None:
            state = self.__dict__["_submission_state"] = _State()
        return state

    def bind_client(self, client: SyncBound | AsyncBound) -> Self:
        """Use ``client`` (an ``InvokeAIClient`` or ``AsyncInvokeAIClient``) for server calls;
        ``workflow_repo.create_workflow_handle`` does this."""
        self._state.client = client
        return self

    @property
    def client(self) -> SyncBound | AsyncBound:
        client = self._state.client
        if client is None:
            raise RuntimeError(
                "this handle has no client: create it with client.workflow_repo."
                "create_workflow_handle(...) or call handle.bind_client(client)"
            )
        return client

    @property
    def _run_now(self) -> Run:
        if not self._state.runs:
            raise RuntimeError("the workflow was not submitted yet: call submit_sync() or submit()")
        return self._state.runs[-1]

    @property
    def batch_id(self) -> str | None:
        """The batch id of the latest submission (None before the first)."""
        return self._state.runs[-1].result.batch_id if self._state.runs else None

    @property
    def session_id(self) -> str | None:
        """The session id of the first item of the latest submission (None before the first)."""
        return self._state.runs[-1].result.session_id if self._state.runs else None

    @property
    def item_ids(self) -> list[int]:
        """The queue item ids of the latest submission."""
        return list(self._state.runs[-1].result.item_ids) if self._state.runs else []

    @property
    def jobs(self) -> list[Job]:
        """One ``Job`` per queue item of the latest submission, as known now."""
        return self._run_now.tracker.jobs()

    # Sending ---------------------------------------------------------------------------------

    def _run_sync(self, plan: Plan[T]) -> T:
        client = self.client
        if not isinstance(client, SyncBound):
            plan.close()
            raise TypeError(
                "this handle uses an async client: await the async methods (submit, "
                "wait_for_completion, cancel_async, ...)"
            )
        return drive_sync(plan, client.execute)

    async def _run(self, plan: Plan[T]) -> T:
        return await drive(plan, self.client)

    # Inputs ----------------------------------------------------------------------------------

    def set_input_image(
        self,
        input: int | str,
        image: ImageSource,
        *,
        category: ImageCategory = "user",
        is_intermediate: bool = False,
    ) -> None:
        """Give an image input (by index or label) a local image: a file path, image bytes or a
        PIL image. It is uploaded when the workflow is submitted (see ``get_uploaded_assets``)."""
        entry = self._input(input)
        if not hasattr(entry.field, "image_name"):
            raise TypeError(
                f"input [{entry.input_index}] {entry.label!r} is a "
                f"{type(entry.field).__name__}, not an image input"
            )
        self._state.uploads.add(PendingImage(entry.input_index, image, category, is_intermediate))

    def set_input_video(
        self,
        input: int | str,
        video: VideoSource,
        *,
        category: ImageCategory = "user",
        is_intermediate: bool = False,
    ) -> None:
        """Give a video input (by index or label) a local MP4 file (a path or bytes). It is
        uploaded when the workflow is submitted (see ``get_uploaded_assets``)."""
        entry = self._input(input)
        if not hasattr(entry.field, "video_name"):
            raise TypeError(
                f"input [{entry.input_index}] {entry.label!r} is a "
                f"{type(entry.field).__name__}, not a video input"
            )
        self._state.uploads.add(PendingVideo(entry.input_index, video, category, is_intermediate))

    def get_uploaded_assets(self) -> list[str]:
        """Names of the images and videos this handle uploaded that are still on the server."""
        return [uploaded.name for uploaded in self._state.uploads.assets()]

    def _input(self, input: int | str) -> IvkWorkflowInput:
        return self.get_input(input) if isinstance(input, int) else self.find_input(input)

    # Submission ------------------------------------------------------------------------------

    def _submit_plan(
        self,
        *,
        queue_id: str,
        board_id: str | None,
        priority: int,
        runs: int,
        sweep: Mapping[int | str, Sequence[Any]] | None,
        batch_id: str,
    ) -> Plan[SubmitResult]:
        """Upload pending images and videos, resolve models, enqueue. Uploads made here are
        deleted again if a later step fails."""
        require_runnable(self.definition, self.catalog)
        uploads = self._state.uploads
        made: list[Uploaded] = []
        try:
            for pending in uploads.to_upload():
                uploaded = yield from upload_plan(pending)
                uploads.record(pending.index, uploaded)
                made.append(uploaded)
                uploaded.apply_to(self.get_input(pending.index).field)
            board_id = yield from board_id_plan(board_id)
            boards = board_overrides(
                self.definition, self.catalog, board_id, user_set=set(self._changes())
            )
            options = {"runs": runs, "prepend": prepend_for(priority), "board": board_id}
            body = self._enqueue_body(boards, **options)
            datums = self._sweep(sweep) if sweep else None
            if model_fields(body["batch"]["graph"], self.catalog):
                models = yield ModelOps.list_models.call(MODELS)
                patches = resolve_models(
                    body["batch"]["graph"],
                    self.catalog,
                    models,
                    user_set=self._user_set_models(),
                    labels=node_labels(self.definition, self.catalog),
                )
                if patches:
                    body = self._enqueue_body({**boards, **patches}, **options)
            body["batch"]["batch_id"] = batch_id
            if datums:
                body["batch"]["data"] = [*body["batch"]["data"], datums]
            enqueued: EnqueueBatchResult = yield from enqueue_plan(queue_id, body)
            first = yield from first_item_plan(queue_id, enqueued.item_ids)
        except BaseException:
            for uploaded in made:
                uploads.forget(uploaded.name)
            if made:
                yield from delete_uploads_plan(made)
            raise
        if enqueued.enqueued < enqueued.requested:
            warnings.warn(
                f"the server's queue took {enqueued.enqueued} of {enqueued.requested} items "
                "(enqueued < requested: its max_queue_size); submit the rest when it has room, "
                "or run through a ServerPool, which waits for room",
                QueueFullWarning,
                stacklevel=4,
            )
        return SubmitResult(
            batch_id=enqueued.batch_id,
            queue_id=queue_id,
            enqueued=enqueued.enqueued,
            requested=enqueued.requested,
            priority=enqueued.priority,
            item_ids=sorted(enqueued.item_ids),
            session_id=first.session_id if first else None,
        )

    def _sweep(self, sweep: Mapping[int | str, Sequence[Any]]) -> list[dict[str, Any]]:
        """One zipped batch group: each input (index or label) takes its list of values in turn."""
        lengths = {len(values) for values in sweep.values()}
        if len(lengths) != 1 or 0 in lengths:
            raise ValueError(
                "sweep values must be non-empty lists of one length (they are zipped), got "
                + ", ".join(f"{key!r}: {len(values)}" for key, values in sweep.items())
            )
        datums = []
        for key, values in sweep.items():
            entry = self._input(key)
            items = [_json_item(entry, value) for value in values]
            datums.append(
                {"node_path": entry.node_id, "field_name": entry.field_name, "items": items}
            )
        return datums

    def _user_set_models(self) -> set[FieldRef]:
        """Model inputs whose value differs from the one saved in the workflow."""
        changed: set[FieldRef] = set()
        for entry in self.list_inputs():
            node = self.definition.node_by_id(entry.node_id) or {}
            saved = node.get("data", {}).get("inputs", {}).get(entry.field_name, {}).get("value")
            try:
                current = entry.field.to_json_dict()
            except ValueError:
                continue
            if isinstance(current, dict) and current != saved:
                changed.add((entry.node_id, entry.field_name))
        return changed

    def _new_run(self, result: SubmitResult) -> Run:
        tracker = JobTracker(
            result.queue_id,
            result.batch_id,
            result.item_ids,
            node_labels=node_labels(self.definition, self.catalog),
        )
        earlier = recent_busy_seconds([run.tracker for run in self._state.runs])
        run = Run(result, tracker, busy_history=earlier)
        self._state.runs.append(run)
        remember_session(self.client, result)
        return run

    def submit_sync(
        self,
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
        the batch;
        ``sweep`` maps inputs (index or label) to lists of values, zipped, one queue item per
        value (times ``runs``).
        """
        plan = self._submit_plan(
            queue_id=queue_id,
            board_id=board_id,
            priority=priority,
            runs=runs,
            sweep=sweep,
            batch_id=str(uuid.uuid4()),
        )
        return self._new_run(self._run_sync(plan)).result

    async def submit(
        self,
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

        With ``subscribe_events`` the job listens on the event socket (``socket``, shared, or a
        connection of its own), subscribed before the enqueue; the ``on_invocation_*`` callbacks
        receive this job's typed events only. Await ``wait_for_completion`` for the outcome.
        """
        batch_id = str(uuid.uuid4())
        connection, owned = None, False
        if subscribe_events:
            connection, owned = await self._open_socket(queue_id, socket)
        subscription = connection.listen_events(batch_ids=[batch_id]) if connection else None
        try:
            result = await self._run(
                self._submit_plan(
                    queue_id=queue_id,
                    board_id=board_id,
                    priority=priority,
                    runs=runs,
                    sweep=sweep,
                    batch_id=batch_id,
                )
            )
        except BaseException:
            if subscription is not None:
                subscription.close()
            if connection is not None and owned:
                await connection.close()
            raise
        run = self._new_run(result)
        run.socket, run.subscription = connection, subscription
        run.owns_socket = owned
        if subscription is not None:
            subscription.add_item_ids(result.item_ids)
        callbacks: dict[type[Event], EventCallback | None] = {
            InvocationStartedEvent: on_invocation_started,
            InvocationProgressEvent: on_invocation_progress,
            InvocationCompleteEvent: on_invocation_complete,
            InvocationErrorEvent: on_invocation_error,
        }
        run.callbacks = {kind: fn for kind, fn in callbacks.items() if fn is not None}
        run.watcher = asyncio.create_task(
            watch(run, self._run, poll_first=subscription is None), name=f"ivkgen watch {batch_id}"
        )
        return result

    async def _open_socket(
        self, queue_id: str, socket: EventSocket | None
    ) -> tuple[EventSocket | None, bool]:
        """The socket to track with, and whether the run owns it: ``socket``, else an async
        client's shared socket, else a connection of the run's own (a sync client's handle
        awaited in some event loop); ``None`` (poll only) if none can be opened."""
        shared = getattr(self.client, "event_socket", None)
        options = getattr(self.client, "socketio_options", None)
        owned = socket is None and shared is None
        try:
            if socket is None and shared is not None:
                socket = await shared()
            elif socket is None and options is not None:
                if getattr(self.client, "is_authenticated", True) is False:
                    # a first request logs in when the client has credentials: the socket needs
                    # the token
                    await self._run(status_plan(queue_id))
                socket = EventSocket(options)
                await socket.connect()
            if socket is None:
                return None, False
            await socket.subscribe(queue_id)
        except (IvkgenError, OSError, TimeoutError) as exc:
            log.warning("event socket unavailable, tracking by polling: %s", exc)
            if owned and socket is not None:
                await socket.close()
            return None, False
        return socket, owned

    # Tracking --------------------------------------------------------------------------------

    async def wait_for_completion(self, timeout: float = DEFAULT_TIMEOUT) -> Job:
        """Wait until every item of the latest submission ended; returns the first item's
        ``Job`` (all of them: ``jobs``). Raises ``JobFailedError`` / ``JobCanceledError`` if an
        item failed or was canceled, ``JobTimeoutError`` after ``timeout`` seconds (the job keeps
        running: wait again or cancel it). Works after ``submit_sync`` too (it subscribes, then
        polls once, so a job that already ended is seen)."""
        run = self._run_now
        if run.watcher is None:
            connection, owned = await self._open_socket(run.result.queue_id, None)
            if connection is not None:
                run.socket, run.owns_socket = connection, owned
                run.subscription = connection.listen_events(
                    batch_ids=[run.result.batch_id], item_ids=run.result.item_ids
                )
            run.watcher = asyncio.create_task(watch(run, self._run))
        try:
            await asyncio.wait_for(asyncio.shield(run.watcher), timeout)
        except TimeoutError:
            raise run.tracker.timeout_error(timeout) from None
        run.tracker.raise_for_status()
        return run.tracker.job(run.result.item_ids[0])

    def wait_for_completion_sync(
        self,
        poll_interval: float = POLL_INTERVAL,
        timeout: float = DEFAULT_TIMEOUT,
        progress_callback: Callable[[SessionQueueItem], None] | None = None,
    ) -> SessionQueueItem:
        """Poll until every item of the latest submission ended, at most ``poll_interval`` apart;
        returns the first item's final queue item. ``progress_callback`` gets each polled item.
        Raises like ``wait_for_completion``."""
        tracker = self._run_now.tracker
        pacer = self._run_now.pacer(poll_interval)
        deadline = time.monotonic() + timeout
        while True:
            items = self._run_sync(poll_plan(tracker, tracker.unfinished_ids))
            for item in items:
                if progress_callback is not None:
                    progress_callback(item)
            if tracker.done:
                self._run_sync(settle_plan(tracker))
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise tracker.timeout_error(timeout)
            time.sleep(min(pacer.pause(items), remaining))
        tracker.raise_for_status()
        return tracker.queue_items()[0]

    def get_queue_item(self) -> SessionQueueItem:
        """The first queue item of the latest submission, read now."""
        tracker = self._run_now.tracker
        items = self._run_sync(poll_plan(tracker, tracker.item_ids[:1]))
        if not items:
            raise NotFoundError(
                f"queue item {tracker.item_ids[0]} is no longer in the queue",
                method="GET",
                path=f"/api/v1/queue/{tracker.queue_id}/i/{tracker.item_ids[0]}",
                status_code=404,
                detail=None,
            )
        return items[0]

    def get_queue_items(self) -> list[SessionQueueItem]:
        """Every queue item of the latest submission still in the queue, read now."""
        tracker = self._run_now.tracker
        return self._run_sync(poll_plan(tracker, tracker.item_ids))

    def cancel(self) -> list[int]:
        """Cancel the unfinished items of the latest submission; returns their ids."""
        return self._run_sync(cancel_plan(self._run_now.tracker))

    async def cancel_async(self) -> list[int]:
        """Like ``cancel``, awaited."""
        return await self._run(cancel_plan(self._run_now.tracker))

    # Outputs ---------------------------------------------------------------------------------

    def _files(self, runs: Sequence[Run]) -> list[OutputImage | OutputVideo]:
        nodes = output_nodes(self.definition, self.catalog)
        client = self._state.client
        files = [f for run in runs for f in output_files(run.tracker, nodes, self.catalog)]
        if isinstance(client, SyncBound):
            bound: SyncBound = client

            def download_image(name: str) -> bytes:
                return bound.execute(ImageOps.download_image.call(IMAGES, name))

            def download_video(name: str) -> bytes:
                return bound.execute(VideoOps.download_video.call(VIDEOS, name))

            for file in files:
                file.bind(download_video if isinstance(file, OutputVideo) else download_image)
        return files

    def get_outputs(self) -> list[OutputImage]:
        """The images the output nodes produced in the latest submission, per item (``item_id``),
        node and prepared copy (several under ``iterate``), then those of the workflows its
        ``call_saved_workflow`` nodes called. Reads final sessions if needed."""
        return [f for f in self.get_output_files() if isinstance(f, OutputImage)]

    async def get_outputs_async(self) -> list[OutputImage]:
        return [f for f in await self.get_output_files_async() if isinstance(f, OutputImage)]

    def get_output_videos(self) -> list[OutputVideo]:
        """The videos the output nodes produced in the latest submission, like ``get_outputs``."""
        return [f for f in self.get_output_files() if isinstance(f, OutputVideo)]

    def get_output_files(self) -> list[OutputImage | OutputVideo]:
        """The images and videos of the latest submission, like ``get_outputs``."""
        run = self._run_now
        self._run_sync(settle_plan(run.tracker))
        return self._files([run])

    async def get_output_files_async(self) -> list[OutputImage | OutputVideo]:
        run = self._run_now
        await self._run(settle_plan(run.tracker))
        return self._files([run])

    def download_outputs(self, folder: str | os.PathLike[str]) -> list[Path]:
        """Save every output image and video of the latest submission into ``folder``; returns
        the paths."""
        return [file.save(folder) for file in self.get_output_files()]

    # Clean-up --------------------------------------------------------------------------------

    def _cleanup_inputs_plan(self) -> Plan[list[str]]:
        uploads = self._state.uploads
        deleted = yield from delete_uploads_plan(uploads.assets())
        for name in deleted:
            uploads.forget(name)
        return deleted

    def _cleanup_outputs_plan(self) -> Plan[list[str]]:
        trackers = [run.tracker for run in self._state.runs]
        return (yield from delete_outputs_plan(trackers, self.catalog, self._state.deleted_outputs))

    def _cleanup_queue_plan(self) -> Plan[list[int]]:
        return (yield from delete_items_plan(run.tracker for run in self._state.runs))

    def cleanup_inputs(self) -> list[str]:
        """Delete the images and videos this handle uploaded; returns their names. Idempotent."""
        return self._run_sync(self._cleanup_inputs_plan())

    def cleanup_outputs(self) -> list[str]:
        """Delete every image and video the handle's queue items (and the items their call nodes
        enqueued) saved, outputs and intermediates, only those their own sessions made; returns
        their names. Idempotent."""
        return self._run_sync(self._cleanup_outputs_plan())

    def cleanup_queue_items(self) -> list[int]:
        """Delete the handle's queue items (unfinished ones are canceled first). Idempotent."""
        return self._run_sync(self._cleanup_queue_plan())

    async def cleanup_inputs_async(self) -> list[str]:
        return await self._run(self._cleanup_inputs_plan())

    async def cleanup_outputs_async(self) -> list[str]:
        return await self._run(self._cleanup_outputs_plan())

    async def cleanup_queue_items_async(self) -> list[int]:
        return await self._run(self._cleanup_queue_plan())

    # Context managers: nothing uploaded outlives the block -----------------------------------

    def _exit_plan(self) -> Plan[None]:
        for run in self._state.runs:
            if not run.tracker.done:
                yield from cancel_plan(run.tracker)
                yield from delete_outputs_plan(
                    [run.tracker], self.catalog, self._state.deleted_outputs
                )
        yield from self._cleanup_inputs_plan()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Cancel unfinished items and delete uploads (errors here are logged, not raised, when
        the block already raised)."""
        try:
            self._run_sync(self._exit_plan())
        except IvkgenError:
            if exc is None:
                raise
            log.warning("clean-up after a failed run did not finish", exc_info=True)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            await self._run(self._exit_plan())
        except IvkgenError:
            if exc is None:
                raise
            log.warning("clean-up after a failed run did not finish", exc_info=True)
        finally:
            for run in self._state.runs:
                if run.watcher is not None and not run.watcher.done():
                    run.watcher.cancel()
                    await asyncio.gather(run.watcher, return_exceptions=True)


def _json_item(entry: IvkWorkflowInput, value: Any) -> Any:
    """A sweep value checked by the input's field class, as the JSON the server takes."""
    field: IvkField[Any] = entry.field
    data = value if isinstance(value, Mapping) else {"value": value}
    try:
        return type(field).model_validate({**field.constraints(), **data}).to_json_dict()
    except ValueError as exc:
        raise ValueError(f"sweep value {value!r} for input {entry.label!r}: {exc}") from exc


def node_labels(definition: WorkflowDefinition, catalog: Catalog) -> dict[str, str]:
    """Node id -> the node's title in the GUI (label, else its type's title, else its type)."""
    labels: dict[str, str] = {}
    for node in definition.invocation_nodes():
        data = node["data"]
        spec = catalog.nodes.get(data["type"])
        labels[node["id"]] = data.get("label") or (spec.title if spec else "") or data["type"]
    return labels


__all__ = ["SubmissionMixin", "node_labels"]
