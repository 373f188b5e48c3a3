"""Submitting a workflow: upload its pending images, resolve its models, enqueue one batch.

:func:`submit_plan` is the whole submission as one plan (see :mod:`.plans`), run blocking by
``WorkflowHandle.submit_sync`` and awaited by ``WorkflowHandle.submit``. The client chooses the
batch id, so the async submission can subscribe to the batch's events before the enqueue. The
images uploaded by a submission whose enqueue fails are deleted again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ivkgen.runtime.fields import IvkField
from ivkgen.runtime.jobs.plans import IMAGES, MODELS, Plan, delete_images_plan, queue_ops
from ivkgen.runtime.jobs.resolve import model_fields, resolve_models
from ivkgen.runtime.jobs.tracker import SubmitResult
from ivkgen.runtime.jobs.uploads import UploadTracker
from ivkgen.runtime.repositories.images import ImageOps
from ivkgen.runtime.repositories.models import ModelOps
from ivkgen.runtime.repositories.queue import QueueOps
from ivkgen.runtime.server.dto import EnqueueBatchResult, ImageDTO
from ivkgen.runtime.workflow.catalog import Catalog
from ivkgen.runtime.workflow.definition import FieldRef, WorkflowDefinition
from ivkgen.runtime.workflow.form import IvkWorkflowInput

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

    def body_options(self) -> dict[str, Any]:
        return {"runs": self.runs, "prepend": self.priority > 0, "board": self.board_id}


@dataclass(frozen=True)
class ModelChoices:
    """How the model values of a submission are matched to the installed models: the catalog
    says which inputs hold models, ``user_set`` are the inputs the user changed (only checked,
    never replaced), ``labels`` name nodes in errors."""

    catalog: Catalog
    user_set: frozenset[FieldRef]
    labels: Mapping[str, str]


def sweep_group(
    entries: Sequence[tuple[IvkWorkflowInput, Sequence[Any]]],
) -> list[dict[str, Any]]:
    """One zipped batch group: each input takes its list of values in turn."""
    lengths = {len(values) for _, values in entries}
    if len(lengths) != 1 or 0 in lengths:
        raise ValueError(
            "sweep values must be non-empty lists of one length (they are zipped), got "
            + ", ".join(f"{entry.label!r}: {len(values)}" for entry, values in entries)
        )
    return [
        {
            "node_path": entry.node_id,
            "field_name": entry.field_name,
            "items": [_json_item(entry, value) for value in values],
        }
        for entry, values in entries
    ]


def _json_item(entry: IvkWorkflowInput, value: Any) -> Any:
    """A sweep value checked by the input's field class, as the JSON the server takes."""
    field: IvkField[Any] = entry.field
    data = value if isinstance(value, Mapping) else {"value": value}
    try:
        return type(field).model_validate({**field.constraints(), **data}).to_json_dict()
    except ValueError as exc:
        raise ValueError(f"sweep value {value!r} for input {entry.label!r}: {exc}") from exc


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


def upload_plan(
    uploads: UploadTracker, inputs: Sequence[IvkWorkflowInput], made: list[str]
) -> Plan[None]:
    """Upload the images waiting for their inputs and give each input its image's name; each
    name goes into ``made`` as soon as it is uploaded (to be deleted if a later step fails)."""
    for pending in uploads.to_upload():
        dto: ImageDTO = yield ImageOps.upload_image.call(
            IMAGES,
            pending.source,
            category=pending.category,
            is_intermediate=pending.is_intermediate,
        )
        uploads.record(pending.index, dto)
        made.append(dto.image_name)
        inputs[pending.index].field.image_name = dto.image_name  # type: ignore[attr-defined]


def submit_plan(
    request: EnqueueRequest,
    uploads: UploadTracker,
    inputs: Sequence[IvkWorkflowInput],
    build_body: BodyBuilder,
    models: ModelChoices,
) -> Plan[SubmitResult]:
    """Upload pending images, resolve models, enqueue; the uploads made here are deleted again
    if a later step fails."""
    made: list[str] = []
    try:
        yield from upload_plan(uploads, inputs, made)
        options = request.body_options()
        body = build_body({}, **options)
        if model_fields(body["batch"]["graph"], models.catalog):
            installed = yield ModelOps.list_models.call(MODELS)
            patches = resolve_models(
                body["batch"]["graph"],
                models.catalog,
                installed,
                user_set=models.user_set,
                labels=models.labels,
            )
            if patches:
                body = build_body(patches, **options)
        body["batch"]["batch_id"] = request.batch_id
        if request.sweep:
            body["batch"]["data"] = [*body["batch"]["data"], request.sweep]
        enqueued: EnqueueBatchResult = yield QueueOps.enqueue_batch.call(
            queue_ops(request.queue_id), body
        )
    except BaseException:
        for name in made:
            uploads.forget(name)
        if made:
            yield from delete_images_plan(made)
        raise
    return SubmitResult(
        batch_id=enqueued.batch_id,
        queue_id=request.queue_id,
        enqueued=enqueued.enqueued,
        requested=enqueued.requested,
        priority=enqueued.priority,
        item_ids=sorted(enqueued.item_ids),
    )


__all__ = [
    "BodyBuilder",
    "EnqueueRequest",
    "ModelChoices",
    "submit_plan",
    "sweep_group",
    "upload_plan",
    "user_set_models",
]
