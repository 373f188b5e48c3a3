"""What a pool run does: one workflow, its base inputs, and the values that vary per item. Pure.

A run is ``count`` items. Each item sets the same node fields (``keys``) to values of its own
(``values[i]``), over the handle's current inputs. Items are sent in chunks: one enqueue per
chunk, whose batch data (one zipped group) holds each item's values, so the server's queue makes
one queue item per pool item, in chunk order (ascending item ids). A run without varying fields
sends a chunk as ``runs=len(chunk)``.

Every queue item carries the run's tag in ``destination`` and its chunk's tag in ``origin``, so
an enqueue whose answer was lost can be looked up on the server instead of being sent again.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ivkgen.runtime.jobs.resolve import resolve_models
from ivkgen.runtime.media import ImageSource
from ivkgen.runtime.server.dto import ModelConfig
from ivkgen.runtime.workflow.definition import FieldRef, node_labels
from ivkgen.runtime.workflow.form import IvkWorkflowInput
from ivkgen.runtime.workflow.handle import WorkflowHandle

if TYPE_CHECKING:  # annotations only: Workflow.sweep runs on a one-server pool
    from ivkgen.runtime.typed import (
        Workflow,
        WorkflowInputs,
    )

TAG_PREFIX = "ivkgen:"


@dataclass(frozen=True)
class Work:
    """The items of one run (see the module docstring)."""

    handle: WorkflowHandle[Any]
    keys: tuple[FieldRef, ...]
    values: tuple[tuple[Any, ...], ...]
    images: Mapping[int, ImageSource] = field(default_factory=dict)
    """Image inputs (form index -> local image), uploaded once to each server that runs items."""
    board_id: str | None = None

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError("a run needs at least one item")
        if any(len(v) != len(self.keys) for v in self.values):
            raise ValueError("every item gives one value per varying field")
        if self.handle.build_enqueue_body()["batch"]["data"]:
            raise ValueError(
                f"workflow {self.handle.definition.name!r} has batch nodes, which make several "
                "queue items per item: sweep their input instead (--sweep / sweep=)"
            )

    @property
    def count(self) -> int:
        return len(self.values)

    def fingerprint(self) -> str:
        """A digest of the workflow, its inputs and every item's values (a ledger resumes only
        the run it recorded)."""
        graph = self.handle.build_enqueue_body(board=self.board_id)["batch"]["graph"]
        data = {
            "graph": {"nodes": graph["nodes"], "edges": graph["edges"]},  # its id is random
            "keys": self.keys,
            "values": self.values,
            "images": sorted(self.images),
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()

    def item_inputs(self, index: int) -> dict[str, Any]:
        """The values item ``index`` sets, as ``"node_id.field": value``."""
        return {f"{n}.{f}": v for (n, f), v in zip(self.keys, self.values[index], strict=True)}


def _input(handle: WorkflowHandle[Any], key: int | str) -> IvkWorkflowInput:
    return handle.get_input(key) if isinstance(key, int) else handle.find_input(key)


def _json_scalar(entry: IvkWorkflowInput, value: Any) -> Any:
    """A value checked by the input's field class, as the scalar a batch datum carries."""
    field = entry.field
    try:
        checked = type(field).model_validate({**field.constraints(), "value": value})
    except ValueError as exc:
        raise ValueError(f"value {value!r} for input {entry.label!r}: {exc}") from None
    result = checked.to_json_dict()
    if not isinstance(result, str | int | float) or isinstance(result, bool):
        raise ValueError(
            f"input {entry.label!r} holds a {type(field).__name__}: the queue substitutes only "
            "strings and numbers per item"
        )
    return result


def grid_work(
    handle: WorkflowHandle[Any],
    grid: Mapping[int | str, Sequence[Any]] | None = None,
    *,
    runs: int = 1,
    images: Mapping[int, ImageSource] | None = None,
    board_id: str | None = None,
) -> Work:
    """Every combination of the ``grid`` inputs' values (index or label -> values; the first
    input varies slowest), each ``runs`` times."""
    if runs < 1:
        raise ValueError(f"runs must be at least 1, not {runs}")
    entries = [_input(handle, key) for key in (grid or {})]
    columns = []
    for entry, values in zip(entries, (grid or {}).values(), strict=True):
        if not values:
            raise ValueError(f"input {entry.label!r}: give at least one value to sweep")
        columns.append([_json_scalar(entry, v) for v in values])
    combos = [c for c in itertools.product(*columns) for _ in range(runs)]
    return Work(
        handle,
        tuple((e.node_id, e.field_name) for e in entries),
        tuple(combos),
        dict(images or {}),
        board_id,
    )


def run_tag(run_id: str) -> str:
    """The ``destination`` of every queue item of a run."""
    return f"{TAG_PREFIX}{run_id}"


def chunk_tag(batch_id: str) -> str:
    """The ``origin`` of the queue items of one chunk."""
    return f"{TAG_PREFIX}{batch_id}"


def server_body(
    work: Work, models: Sequence[ModelConfig], uploads: Mapping[int, str]
) -> dict[str, Any]:
    """The enqueue body for one server: its own model keys and uploaded image names."""
    handle = work.handle
    body = handle.build_enqueue_body(board=work.board_id)
    graph = body["batch"]["graph"]
    labels = node_labels(handle.definition, handle.catalog)
    patches: dict[FieldRef, Any] = dict(
        resolve_models(graph, handle.catalog, models, labels=labels)
    )
    for index, name in uploads.items():
        entry = handle.get_input(index)
        patches[(entry.node_id, entry.field_name)] = {"image_name": name}
    nodes = dict(graph["nodes"])
    for (node_id, field_name), value in patches.items():
        nodes[node_id] = {**nodes[node_id], field_name: value}
    body["batch"] = {**body["batch"], "graph": {**graph, "nodes": nodes}}
    return body


def chunk_body(
    base: Mapping[str, Any],
    work: Work,
    indexes: Sequence[int],
    *,
    batch_id: str,
    run_id: str,
) -> dict[str, Any]:
    """The enqueue body of one chunk of items, tagged with its run and chunk."""
    batch = {
        **base["batch"],
        "batch_id": batch_id,
        "origin": chunk_tag(batch_id),
        "destination": run_tag(run_id),
    }
    if work.keys:
        batch["runs"] = 1
        batch["data"] = [
            [
                {
                    "node_path": node_id,
                    "field_name": field_name,
                    "items": [work.values[i][column] for i in indexes],
                }
                for column, (node_id, field_name) in enumerate(work.keys)
            ]
        ]
    else:
        batch["runs"] = len(indexes)
    return {"batch": batch, "prepend": False}


def module_work(
    workflow: Workflow[Any, Any], inputs: Sequence[WorkflowInputs], *, board_id: str | None = None
) -> Work:
    """The items of a generated module's workflow, one per inputs object: the inputs that
    differ between them vary per item (strings and numbers only), the rest is shared. Model
    inputs given by name are matched on each server by name, base and type."""
    if not inputs:
        raise ValueError("give at least one inputs object")
    handles = [_module_handle(workflow, i) for i in inputs]
    locations = list(type(inputs[0]).locations().values())
    keys: list[FieldRef] = []
    columns: list[list[Any]] = []
    for at in locations:
        entries = [h.find_input(node=at.node_id, field=at.field) for h in handles]
        values = [e.field.to_json_dict() for e in entries]
        if any(v != values[0] for v in values):
            keys.append((at.node_id, at.field))
            columns.append([_json_scalar(entries[0], v) for v in values])
    return Work(
        handles[0],
        tuple(keys),
        tuple(zip(*columns, strict=True)) or ((),) * len(inputs),
        board_id=board_id,
    )


def _module_handle(workflow: Workflow[Any, Any], inputs: WorkflowInputs) -> WorkflowHandle[Any]:
    handle = WorkflowHandle(workflow.definition, workflow.catalog())
    for index, name in inputs.apply_to(handle).items():
        entry = handle.get_input(index)
        saved = entry.field.to_json_dict() or {}
        by_name = {**saved, "name": name, "key": "", "hash": ""}
        handle.set_input_value(index, type(entry.field).model_validate(by_name))
    if handle.get_uploaded_assets() or handle.validate_inputs():
        problems = "; ".join(f"[{i}] {', '.join(p)}" for i, p in handle.validate_inputs().items())
        raise ValueError(
            f"{type(workflow).__name__}: the inputs are not ready for a pool run ({problems}); "
            "image inputs are given to the pool as images="
        )
    return handle


__all__ = ["Work", "chunk_body", "chunk_tag", "grid_work", "module_work", "run_tag", "server_body"]
