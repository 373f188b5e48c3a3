"""Submitting a workflow: upload its pending files, resolve its boards and models, enqueue one
batch.

:func:`submit_plan` is the whole submission as one plan (see :mod:`.plans`), run blocking by
``WorkflowHandle.submit_sync`` and awaited by ``WorkflowHandle.submit``. The client chooses the
batch id, so the async submission can subscribe to the batch's events before the enqueue. The
files uploaded by a submission whose enqueue fails are deleted again.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ivkgen.runtime._errors import QueueFullWarning
from ivkgen.runtime._fields import IvkField
from ivkgen.runtime._jobs.boards import board_id_plan, board_overrides
from ivkgen.runtime._jobs.enqueue import enqueue_plan
from ivkgen.runtime._jobs.plans import MODELS, Plan
from ivkgen.runtime._jobs.resolve import model_fields, resolve_models
from ivkgen.runtime._jobs.sessions import first_item_plan
from ivkgen.runtime._jobs.tracker import SubmitResult
from ivkgen.runtime._jobs.uploads import Uploaded, UploadTracker, delete_uploads_plan, upload_plan
from ivkgen.runtime._repositories.models import ModelOps
from ivkgen.runtime._repositories.queue import prepend_for
from ivkgen.runtime._server.dto import EnqueueBatchResult
from ivkgen.runtime._workflow.blockers import require_runnable
from ivkgen.runtime._workflow.catalog import Catalog
from ivkgen.runtime._workflow.definition import FieldRef, WorkflowDefinition
from ivkgen.runtime._workflow.form import IvkWorkflowInput

BodyBuilder = Callable[..., dict[str, Any]]
"""``build(changes, runs=..., prepend=..., board=...)``: the enqueue body with ``changes`` (node
input -> value) over the handle's current values."""


@dataclass(frozen=True)
class EnqueueRequest:
    """What one submission asks the queue for; ``sweep`` is one zipped batch group."""

    queue_id: str
    board_id: str | None = None
    priority: int = 0
    runs: int = 1
    sweep: list[dict[str, Any]] | None = None
    batch_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass(frozen=True)
class WorkflowFacts:
    """What a submission needs to know of its workflow: the definition and catalog, the inputs
    the user changed (their boards stay; their models are only checked, never replaced) and
    the node labels that errors name."""

    definition: WorkflowDefinition
    catalog: Catalog
    changed: frozenset[FieldRef]
    changed_models: frozenset[FieldRef]
    labels: Mapping[str, str]


def sweep_group(entries: Sequence[tuple[IvkWorkflowInput, Sequence[Any]]]) -> list[dict[str, Any]]:
    """One zipped batch group: each input takes its list of values in turn."""
    lengths = {len(values) for _, values in entries}
    if len(lengths) != 1 or 0 in lengths:
        raise ValueError(
            "sweep values must be non-empty lists of one length (they are zipped), got "
            + ", ".join(f"{entry.label!r}: {len(values)}" for entry, values in entries)
        )
    keys = [(entry.node_id, entry.field_name) for entry, _ in entries]
    columns = [[batch_item(entry, v, "sweep value") for v in values] for entry, values in entries]
    return batch_group(keys, columns)


def batch_group(keys: Sequence[FieldRef], columns: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """One zipped group of ``Batch.data``: input ``keys[c]`` takes the values of ``columns[c]``
    in turn, one queue item per position. Both sweeps send their values this way: a handle's
    ``submit(sweep=...)`` as one group, a pool run as one group per chunk."""
    return [
        {"node_path": node_id, "field_name": field_name, "items": list(items)}
        for (node_id, field_name), items in zip(keys, columns, strict=True)
    ]


def batch_item(entry: IvkWorkflowInput, value: Any, what: str = "value") -> Any:
    """A value (or a field's dict) checked by the input's field class, as the JSON the server
    takes; ``what`` names the value in the error."""
    field: IvkField[Any] = entry.field
    data = value if isinstance(value, Mapping) else {"value": value}
    try:
        return type(field).model_validate({**field.constraints(), **data}).to_json_dict()
    except ValueError as exc:
        raise ValueError(f"{what} {value!r} for input {entry.label!r}: {exc}") from None


def user_set_models(
    definition: WorkflowDefinition, inputs: Sequence[IvkWorkflowInput]
) -> frozenset[FieldRef]:
    """Model inputs whose value differs from the one saved in the workflow."""
    changed: set[FieldRef] = set()
    for entry in inputs:
        node = definition.node_by_id(entry.node_id) or {}
        saved = node.get("data", {}).get("inputs", {}).get(entry.field_name, {}).get("value")
        try:
            current = entry.field.to_json_dict()
        except ValueError:
            continue
        if isinstance(current, dict) and current != saved:
            changed.add((entry.node_id, entry.field_name))
    return frozenset(changed)


def upload_inputs_plan(
    uploads: UploadTracker, inputs: Sequence[IvkWorkflowInput], made: list[Uploaded]
) -> Plan[None]:
    """Upload the files waiting for their inputs and point each input at its file; each upload
    goes into ``made`` as soon as it is made (to be deleted if a later step fails)."""
    for pending in uploads.to_upload():
        uploaded = yield from upload_plan(pending)
        uploads.record(pending.index, uploaded)
        made.append(uploaded)
        uploaded.apply_to(inputs[pending.index].field)


def submit_plan(
    request: EnqueueRequest,
    uploads: UploadTracker,
    inputs: Sequence[IvkWorkflowInput],
    build_body: BodyBuilder,
    facts: WorkflowFacts,
) -> Plan[SubmitResult]:
    """Refuse a workflow the server cannot run, upload pending files, resolve the board and the
    models, enqueue; the uploads made here are deleted again if a later step fails. A queue
    that takes fewer items than asked (its maximum size) gives a ``QueueFullWarning``."""
    require_runnable(facts.definition, facts.catalog)
    made: list[Uploaded] = []
    try:
        yield from upload_inputs_plan(uploads, inputs, made)
        board_id = yield from board_id_plan(request.board_id)
        boards = board_overrides(
            facts.definition, facts.catalog, board_id, user_set=set(facts.changed)
        )
        options = {
            "runs": request.runs,
            "prepend": prepend_for(request.priority),
            "board": board_id,
        }
        body = build_body(boards, **options)
        if model_fields(body["batch"]["graph"], facts.catalog):
            installed = yield ModelOps.list_models.call(MODELS)
            patches = resolve_models(
                body["batch"]["graph"],
                facts.catalog,
                installed,
                user_set=facts.changed_models,
                labels=facts.labels,
            )
            if patches:
                body = build_body({**boards, **patches}, **options)
        body["batch"]["batch_id"] = request.batch_id
        if request.sweep:
            body["batch"]["data"] = [*body["batch"]["data"], request.sweep]
        enqueued: EnqueueBatchResult = yield from enqueue_plan(request.queue_id, body)
        first = yield from first_item_plan(request.queue_id, enqueued.item_ids)
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
            stacklevel=5,
        )
    return SubmitResult(
        batch_id=enqueued.batch_id,
        queue_id=request.queue_id,
        enqueued=enqueued.enqueued,
        requested=enqueued.requested,
        priority=enqueued.priority,
        item_ids=sorted(enqueued.item_ids),
        session_id=first.session_id if first else None,
    )
