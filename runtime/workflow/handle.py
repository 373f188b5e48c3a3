"""``WorkflowHandle``: one workflow's form inputs, and its runs on a server.

The handle holds its workflow, its input fields (one ``IvkWorkflowInput`` list) and the client
it runs on; it never changes its ``WorkflowDefinition``, so several handles on one definition are
independent. Editing inputs and ``build_enqueue_body()`` need no server. The server side is
short shells over the jobs: :mod:`~ivkgen.runtime.jobs.submission` (upload, resolve models,
enqueue), :mod:`~ivkgen.runtime.jobs.watch` (events and polling),
:mod:`~ivkgen.runtime.jobs.outputs` and :mod:`~ivkgen.runtime.jobs.cleanup`, each a plan run
blocking by the sync methods and awaited by the async ones.

The conversion is made once, from the definition as it is at the first ``build_enqueue_body()``
(a definition edited after that needs a new handle); each body only applies the inputs whose
values differ from the saved ones. An input's JSON value is reused while its field is the same
object holding the same immutable attribute values.
"""

from __future__ import annotations

import copy
import functools
import logging
import operator
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, TypeAlias, TypeVar, cast, overload

from ivkgen.runtime.errors import InputLookupError, IvkgenError, NotFoundError, WorkflowError
from ivkgen.runtime.events.socket import EventSocket
from ivkgen.runtime.fields import IvkField, IvkStructField
from ivkgen.runtime.jobs import cleanup
from ivkgen.runtime.jobs.called_items import final_sessions_plan
from ivkgen.runtime.jobs.clients import AnyClient, AsyncClient, SyncClient
from ivkgen.runtime.jobs.enqueue import features_plan
from ivkgen.runtime.jobs.outputs import output_files, output_nodes
from ivkgen.runtime.jobs.pacing import recent_busy_seconds
from ivkgen.runtime.jobs.plans import (
    ClientDownloader,
    Plan,
    cancel_plan,
    drive,
    drive_sync,
    poll_plan,
)
from ivkgen.runtime.jobs.readiness import require_sendable
from ivkgen.runtime.jobs.resolve import kind_problem
from ivkgen.runtime.jobs.sessions import remember_session
from ivkgen.runtime.jobs.submission import (
    EnqueueRequest,
    WorkflowFacts,
    submit_plan,
    sweep_group,
    user_set_models,
)
from ivkgen.runtime.jobs.tracker import Job, JobTracker, SubmitResult
from ivkgen.runtime.jobs.uploads import Pending, PendingImage, PendingVideo, UploadTracker
from ivkgen.runtime.jobs.watch import (
    POLL_INTERVAL,
    EventCallback,
    Run,
    invocation_callbacks,
    listen,
    poll_until_done,
)
from ivkgen.runtime.media import ImageSource, OutputImage, OutputKind, OutputVideo, VideoSource
from ivkgen.runtime.repositories.queue import DEFAULT_QUEUE
from ivkgen.runtime.server.dto import ImageCategory, SessionQueueItem
from ivkgen.runtime.timeouts import JOB_TIMEOUT
from ivkgen.runtime.values import constraint_problem
from ivkgen.runtime.workflow.blockers import InputProblems, form_problems
from ivkgen.runtime.workflow.catalog import Catalog, InputSpec, default_catalog
from ivkgen.runtime.workflow.convert import Conversion, write_value
from ivkgen.runtime.workflow.definition import FieldRef, WorkflowDefinition, node_labels
from ivkgen.runtime.workflow.form import IvkWorkflowInput, discover_inputs, entry_spec

log = logging.getLogger("ivkgen.runtime.workflow.handle")

T = TypeVar("T")
ClientT = TypeVar("ClientT", bound="SyncClient | AsyncClient | None", covariant=True)
"""The kind of client a handle runs on: ``InvokeAIClient``, ``AsyncInvokeAIClient`` or None."""
BoundT = TypeVar("BoundT", bound="SyncClient | AsyncClient")
SyncHandleT = TypeVar("SyncHandleT", bound="WorkflowHandle[SyncClient]")
BoundHandleT = TypeVar("BoundHandleT", bound="BoundHandle")

_UNSET = object()


class WorkflowHandle(Generic[ClientT]):
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
        self._definition = definition
        self._catalog = catalog or default_catalog()
        self._inputs = discover_inputs(definition, self._catalog)
        self._specs = [entry_spec(definition, i, self._catalog) for i in self._inputs]
        self._saved = [_json_value(i.field) for i in self._inputs]
        self._values: dict[int, _KnownValue] = {}
        self._client = cast(ClientT, client)
        self._uploads = UploadTracker()
        self._runs: list[Run] = []
        self._deleted_outputs: set[str] = set()

    @property
    def definition(self) -> WorkflowDefinition:
        """The workflow as loaded; the handle's edits live in its inputs, not here."""
        return self._definition

    @property
    def catalog(self) -> Catalog:
        return self._catalog

    def list_inputs(self) -> list[IvkWorkflowInput]:
        """The form inputs in form order; ``input_index`` is the position in this list."""
        return list(self._inputs)

    def get_input(self, index: int) -> IvkWorkflowInput:
        if not 0 <= index < len(self._inputs):
            raise InputLookupError(
                f"workflow {self._definition.name!r} has inputs 0..{len(self._inputs) - 1}, "
                f"not {index}"
            )
        return self._inputs[index]

    def get_input_value(self, index: int) -> IvkField[Any]:
        """The ``Ivk*`` field of input ``index``; assigning to its attributes sets the input."""
        return self.get_input(index).field

    def set_input_value(self, index: int, field: IvkField[Any]) -> None:
        """Replace the field of input ``index`` by ``field``, which must be of the same class."""
        current = self.get_input(index)
        if type(field) is not type(current.field):
            raise TypeError(
                f"input [{index}] {current.label!r} holds a {type(current.field).__name__}, "
                f"not a {type(field).__name__}"
            )
        self._inputs[index] = current.model_copy(update={"field": field})

    def find_input(
        self, label: str | None = None, *, node: str | None = None, field: str | None = None
    ) -> IvkWorkflowInput:
        """The one input with this ``label``, or on this ``node`` (name or id) and ``field``."""
        if (label is None) == (node is None and field is None):
            raise TypeError("find_input takes a label, or node= and field=")
        if label is not None:
            wanted = f"label {label!r}"
            found = [i for i in self._inputs if i.label == label]
        else:
            wanted = f"node {node!r} field {field!r}"
            found = [
                i
                for i in self._inputs
                if node in (i.node_name, i.node_id) and i.field_name == field
            ]
        if len(found) != 1:
            problem = "no input has" if not found else f"{len(found)} inputs have"
            listing = "; ".join(
                f"[{i.input_index}] {i.label} ({i.node_name}.{i.field_name})" for i in found
            )
            labels = ", ".join(repr(i.label) for i in self._inputs) or "none"
            raise InputLookupError(
                f"workflow {self._definition.name!r}: {problem} {wanted}"
                + (f": {listing}; use the index" if found else f"; its inputs are {labels}")
            )
        return found[0]

    def validate_inputs(self) -> InputProblems:
        """Problems per input index: required values missing, schema constraints broken,
        saved values the field could not hold (while still unset), nodes of unknown type; and
        in ``.workflow`` what no input can fix (see ``ivkgen.runtime.workflow.blockers``)."""
        problems = form_problems(self._definition, self._catalog, self._inputs)
        for index, (item, spec) in enumerate(zip(self._inputs, self._specs, strict=True)):
            messages = _field_problems(item.field, spec)
            value = _json_value(item.field)
            if item.saved_value_error and value is None:
                messages.append(item.saved_value_error)
            elif item.required and not messages and value is None:
                messages.append("required: set a value")
            if messages:
                problems.setdefault(index, []).extend(messages)
        return problems

    def workflow_with_values(self) -> dict[str, Any]:
        """A copy of the workflow dict holding the inputs' current values (as the GUI saves it)."""
        workflow = self._definition.to_dict()
        nodes = {node["id"]: node for node in workflow["nodes"]}
        for (node_id, name), value in self._changes().items():
            write_value(nodes[node_id]["data"]["inputs"][name], value)
        return workflow

    def build_enqueue_body(
        self,
        *,
        runs: int = 1,
        prepend: bool = False,
        board: str | None = None,
        origin: str = "workflows",
        destination: str = "gallery",
    ) -> dict[str, Any]:
        """The enqueue body for the current values; ``board`` stands in for ``"auto"`` boards.
        Unchanged parts are shared with the handle's cached conversion (see ``Conversion``)."""
        return self._enqueue_body(
            {}, runs=runs, prepend=prepend, board=board, origin=origin, destination=destination
        )

    def _enqueue_body(self, overrides: Mapping[FieldRef, Any], **options: Any) -> dict[str, Any]:
        """The enqueue body with ``overrides`` (node input -> value) over the current values."""
        return self._conversion.enqueue_body({**self._changes(), **overrides}, **options)

    @functools.cached_property
    def _conversion(self) -> Conversion:
        return Conversion(self._definition.to_dict(), self._catalog)

    def _changes(self) -> dict[FieldRef, Any]:
        """``(node id, field)`` -> a copy of the current value, for the inputs whose value differs
        from the saved one."""
        changes: dict[FieldRef, Any] = {}
        for index, (item, saved) in enumerate(zip(self._inputs, self._saved, strict=True)):
            value = self._current_value(index)
            if value != saved:
                changes[(item.node_id, item.field_name)] = copy.deepcopy(value)
        return changes

    def _current_value(self, index: int) -> Any:
        """The JSON value of input ``index``, reused while its field is unchanged."""
        item = self._inputs[index]
        known = self._values.get(index)
        if known is not None and known.holds(item.field):
            return known.value
        value = _json_value(item.field, label=item.label)
        self._values[index] = _KnownValue(item.field, value)
        return value

    # Server side ------------------------------------------------------------------------------

    def bind_client(self, client: BoundT) -> WorkflowHandle[BoundT]:
        """Run on ``client`` (an ``InvokeAIClient`` or ``AsyncInvokeAIClient``); returns the
        handle, typed by that client. ``workflow_repo.create_workflow_handle`` does this."""
        self._client = cast(ClientT, client)
        return cast(WorkflowHandle[BoundT], self)

    @property
    def client(self) -> ClientT:
        """The client the handle runs on."""
        return self._client

    def _bound(self) -> AnyClient:
        client: AnyClient | None = self._client
        if client is None:
            raise RuntimeError(
                "this handle has no client: create it with client.workflow_repo."
                "create_workflow_handle(...) or call handle.bind_client(client)"
            )
        return client

    def _send(self, plan: Plan[T]) -> T:
        """Run a plan blocking, with the sync client."""
        client = self._bound()
        if not isinstance(client, SyncClient):
            plan.close()
            raise TypeError(
                "this handle uses an async client: await the async methods (submit, "
                "wait_for_completion, cancel_async, ...)"
            )
        return drive_sync(plan, client.execute)

    async def _asend(self, plan: Plan[T]) -> T:
        """Await a plan, with the async client (or the sync one in a worker thread)."""
        return await drive(plan, self._bound())

    @property
    def _latest(self) -> Run:
        if not self._runs:
            raise RuntimeError("the workflow was not submitted yet: call submit_sync() or submit()")
        return self._runs[-1]

    @property
    def batch_id(self) -> str | None:
        """The batch id of the latest submission (None before the first)."""
        return self._runs[-1].result.batch_id if self._runs else None

    @property
    def session_id(self) -> str | None:
        """The session id of the first item of the latest submission (None before the first)."""
        return self._runs[-1].result.session_id if self._runs else None

    @property
    def item_ids(self) -> list[int]:
        """The queue item ids of the latest submission."""
        return list(self._runs[-1].result.item_ids) if self._runs else []

    @property
    def jobs(self) -> list[Job]:
        """One ``Job`` per queue item of the latest submission, as known now."""
        return self._latest.tracker.jobs()

    @functools.cached_property
    def _node_labels(self) -> dict[str, str]:
        return node_labels(self._definition, self._catalog)

    # Image and video inputs -------------------------------------------------------------------

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
        entry = self._file_entry(input, "image")
        self._uploads.add(PendingImage(entry.input_index, image, category, is_intermediate))

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
        entry = self._file_entry(input, "video")
        self._uploads.add(PendingVideo(entry.input_index, video, category, is_intermediate))

    def get_pending_uploads(self) -> list[Pending]:
        """The image and video inputs given local files that are not on the server (yet), in
        input order."""
        return self._uploads.to_upload()

    def get_uploaded_assets(self) -> list[str]:
        """Names of the images and videos this handle uploaded that are still on the server."""
        return [uploaded.name for uploaded in self._uploads.assets()]

    def _file_entry(self, input: int | str, kind: OutputKind) -> IvkWorkflowInput:
        """The input, which must name an uploaded file of this kind (``image_name``...)."""
        entry = self._entry(input)
        if f"{kind}_name" not in type(entry.field).model_fields:
            article = "an" if kind == "image" else "a"
            raise TypeError(
                f"input [{entry.input_index}] {entry.label!r} is a "
                f"{type(entry.field).__name__}, not {article} {kind} input"
            )
        return entry

    def _entry(self, input: int | str) -> IvkWorkflowInput:
        return self.get_input(input) if isinstance(input, int) else self.find_input(input)

    # Submission -------------------------------------------------------------------------------

    def _submission(
        self,
        queue_id: str,
        board_id: str | None,
        priority: int,
        runs: int,
        sweep: Mapping[int | str, Sequence[Any]] | None,
    ) -> tuple[EnqueueRequest, Plan[SubmitResult]]:
        """The request and the plan of one submission (the sweep is checked here, before
        anything is sent)."""
        swept = [(self._entry(k), v) for k, v in (sweep or {}).items()]
        group = sweep_group(swept) if swept else None
        given = {entry.input_index for entry, _ in swept} | set(self._uploads.sources)
        values = [_json_value(item.field) for item in self._inputs]
        require_sendable(self._definition, self._catalog, self._inputs, self._specs, values, given)
        request = EnqueueRequest(queue_id, board_id, priority, runs, group)
        facts = WorkflowFacts(
            self._definition,
            self._catalog,
            changed=frozenset(self._changes()),
            changed_models=user_set_models(self._definition, self._inputs),
            labels=self._node_labels,
        )
        plan = submit_plan(request, self._uploads, self._inputs, self._enqueue_body, facts)
        return request, plan

    def _add_run(self, result: SubmitResult, sent_at: float) -> Run:
        tracker = JobTracker(
            result.queue_id, result.batch_id, result.item_ids, node_labels=self._node_labels
        )
        earlier = recent_busy_seconds([run.tracker for run in self._runs])
        run = Run(result, tracker, busy_history=earlier, sent_at=sent_at)
        self._runs.append(run)
        remember_session(self._bound(), result)
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
        _, plan = self._submission(queue_id, board_id, priority, runs, sweep)
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
        request, plan = self._submission(queue_id, board_id, priority, runs, sweep)
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
        run = self._add_run(result, sent_at)
        run.callbacks = invocation_callbacks(
            on_invocation_started,
            on_invocation_progress,
            on_invocation_complete,
            on_invocation_error,
        )
        run.start_watching(client, tracking, poll_first=tracking is None)
        return result

    # Tracking ---------------------------------------------------------------------------------

    async def wait_for_completion(self: BoundHandle, timeout: float = JOB_TIMEOUT) -> Job:
        """Wait until every item of the latest submission ended; returns the first item's
        ``Job`` (all of them: ``jobs``). Raises ``JobFailedError`` / ``JobCanceledError`` if an
        item failed or was canceled, ``JobTimeoutError`` after ``timeout`` seconds (the job keeps
        running: wait again or cancel it). Works after ``submit_sync`` too (it subscribes, then
        polls once, so a job that already ended is seen)."""
        run = self._latest
        if run.watcher is None:
            result = run.result
            client = self._bound()
            tracking = await listen(client, result.queue_id, result.batch_id, result.item_ids)
            run.start_watching(client, tracking)
        return await run.finished(timeout)

    def wait_for_completion_sync(
        self: WorkflowHandle[SyncClient],
        poll_interval: float = POLL_INTERVAL,
        timeout: float = JOB_TIMEOUT,
        progress_callback: Callable[[SessionQueueItem], None] | None = None,
    ) -> SessionQueueItem:
        """Poll until every item of the latest submission ended, at most ``poll_interval`` apart;
        returns the first item's final queue item. ``progress_callback`` gets each polled item.
        Raises like ``wait_for_completion``."""
        return poll_until_done(
            self._latest,
            self._send,
            poll_interval=poll_interval,
            timeout=timeout,
            progress_callback=progress_callback,
        )

    def get_queue_item(self: WorkflowHandle[SyncClient]) -> SessionQueueItem:
        """The first queue item of the latest submission, read now."""
        tracker = self._latest.tracker
        items = self._send(poll_plan(tracker, tracker.item_ids[:1]))
        if not items:
            raise NotFoundError(
                f"queue item {tracker.item_ids[0]} is no longer in the queue",
                method="GET",
                path=f"/api/v1/queue/{tracker.queue_id}/i/{tracker.item_ids[0]}",
                status_code=404,
                detail=None,
            )
        return items[0]

    def get_queue_items(self: WorkflowHandle[SyncClient]) -> list[SessionQueueItem]:
        """Every queue item of the latest submission still in the queue, read now."""
        tracker = self._latest.tracker
        return self._send(poll_plan(tracker, tracker.item_ids))

    def cancel(self: WorkflowHandle[SyncClient]) -> list[int]:
        """Cancel the unfinished items of the latest submission; returns their ids."""
        return self._send(cancel_plan(self._latest.tracker))

    async def cancel_async(self: BoundHandle) -> list[int]:
        """Like ``cancel``, awaited."""
        return await self._asend(cancel_plan(self._latest.tracker))

    # Outputs ----------------------------------------------------------------------------------

    def _files_plan(self) -> Plan[list[OutputImage | OutputVideo]]:
        tracker = self._latest.tracker
        yield from final_sessions_plan(tracker)
        nodes = output_nodes(self._definition, self._catalog)
        return output_files(tracker, nodes, self._catalog, ClientDownloader(self._bound()))

    def get_output_files(self: WorkflowHandle[SyncClient]) -> list[OutputImage | OutputVideo]:
        """The images and videos the output nodes produced in the latest submission, per item
        (``item_id``), node and prepared copy (several under ``iterate``), then those of the
        workflows its ``call_saved_workflow`` nodes called. Reads final sessions if needed."""
        return self._send(self._files_plan())

    async def aget_output_files(self: BoundHandle) -> list[OutputImage | OutputVideo]:
        return await self._asend(self._files_plan())

    def get_outputs(self: WorkflowHandle[SyncClient]) -> list[OutputImage]:
        """The images of ``get_output_files``."""
        return _images(self.get_output_files())

    async def aget_outputs(self: BoundHandle) -> list[OutputImage]:
        return _images(await self.aget_output_files())

    def get_output_videos(self: WorkflowHandle[SyncClient]) -> list[OutputVideo]:
        """The videos of ``get_output_files``."""
        return [file for file in self.get_output_files() if isinstance(file, OutputVideo)]

    def download_outputs(
        self: WorkflowHandle[SyncClient], folder: str | os.PathLike[str]
    ) -> list[Path]:
        """Save every output image and video of the latest submission into ``folder``; returns
        the paths."""
        return [file.save(folder) for file in self.get_output_files()]

    # Clean-up ---------------------------------------------------------------------------------

    @property
    def _trackers(self) -> list[JobTracker]:
        return [run.tracker for run in self._runs]

    def _outputs_cleanup(self) -> Plan[list[str]]:
        return cleanup.delete_outputs_plan(self._trackers, self._catalog, self._deleted_outputs)

    def _exit_plan(self) -> Plan[None]:
        return cleanup.exit_plan(
            self._trackers, self._uploads, self._catalog, self._deleted_outputs
        )

    def cleanup_inputs(self: WorkflowHandle[SyncClient]) -> list[str]:
        """Delete the images and videos this handle uploaded; returns their names. Idempotent."""
        return self._send(cleanup.delete_inputs_plan(self._uploads))

    def cleanup_outputs(self: WorkflowHandle[SyncClient]) -> list[str]:
        """Delete every image and video the handle's queue items (and the items their call nodes
        enqueued) saved, outputs and intermediates, only those their own sessions made; returns
        their names. Idempotent."""
        return self._send(self._outputs_cleanup())

    def cleanup_queue_items(self: WorkflowHandle[SyncClient]) -> list[int]:
        """Delete the handle's queue items (unfinished ones are canceled first). Idempotent."""
        return self._send(cleanup.delete_items_plan(self._trackers))

    async def acleanup_outputs(self: BoundHandle) -> list[str]:
        return await self._asend(self._outputs_cleanup())

    async def acleanup_queue_items(self: BoundHandle) -> list[int]:
        return await self._asend(cleanup.delete_items_plan(self._trackers))

    # Context managers: nothing uploaded outlives the block ------------------------------------

    def __enter__(self: SyncHandleT) -> SyncHandleT:
        return self

    def __exit__(
        self: WorkflowHandle[SyncClient],
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Cancel unfinished items and delete uploads (errors here are logged, not raised, when
        the block already raised)."""
        try:
            self._send(self._exit_plan())
        except IvkgenError:
            if exc is None:
                raise
            log.warning("clean-up after a failed run did not finish", exc_info=True)

    async def __aenter__(self: BoundHandleT) -> BoundHandleT:
        return self

    async def __aexit__(
        self: BoundHandle,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            await self._asend(self._exit_plan())
        except IvkgenError:
            if exc is None:
                raise
            log.warning("clean-up after a failed run did not finish", exc_info=True)
        finally:
            for run in self._runs:
                await run.stop_watching()


BoundHandle: TypeAlias = "WorkflowHandle[SyncClient] | WorkflowHandle[AsyncClient]"
"""A handle with a client of either kind: what the awaited methods take."""


def _images(files: Sequence[OutputImage | OutputVideo]) -> list[OutputImage]:
    return [file for file in files if isinstance(file, OutputImage)]


class _KnownValue:
    """A field's JSON value and the attribute values it was computed from; ``attributes`` is
    ``None`` when one of them is mutable (unhashable), as the value could then change in place."""

    __slots__ = ("attributes", "field", "fields_set", "value")

    def __init__(self, field: IvkField[Any], value: Any) -> None:
        attributes: tuple[Any, ...] | None = tuple(field.__dict__.values())
        try:
            hash(attributes)
        except TypeError:
            attributes = None
        self.field = field
        self.attributes = attributes
        self.fields_set = frozenset(field.model_fields_set)
        self.value = value

    def holds(self, field: IvkField[Any]) -> bool:
        """Whether ``field`` is the same object, holding the same immutable attribute objects."""
        return (
            field is self.field
            and self.attributes is not None
            and field.model_fields_set == self.fields_set
            and all(map(operator.is_, field.__dict__.values(), self.attributes))
        )


def _json_value(field: IvkField[Any], label: str | None = None) -> Any:
    try:
        return field.to_json_dict()
    except ValueError as exc:
        if label is None:
            return _UNSET
        raise WorkflowError(f"input {label!r}: {exc}") from exc


def _field_problems(field: IvkField[Any], spec: InputSpec) -> list[str]:
    if isinstance(field, IvkStructField):
        missing = field.missing_keys()
        if missing:
            return [f"incomplete: missing {', '.join(missing)}"]
        problem = kind_problem(field.to_json_dict() or {}, spec)  # a model of another base
        return [problem] if problem else []
    value = _json_value(field)
    limits: dict[str, Any] = {**spec.constraints, "choices": spec.choices}
    problem = constraint_problem(value, limits)
    return [problem] if problem else []
