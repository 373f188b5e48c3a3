"""What a pool run does: one workflow, its base inputs, and the values that vary per item. Pure.

A run is ``count`` items. Each item sets the same node fields (``keys``) to values of its own
(``values[i]``), over the handle's current inputs. Items are sent in chunks: one enqueue per
chunk, whose batch data (one zipped group) holds each item's values, so the server's queue makes
one queue item per pool item, in chunk order (ascending item ids). A run without varying fields
sends a chunk as ``runs=len(chunk)``.

Image and video inputs take local files (``files``): a file every item shares is uploaded to a
server before its first item goes there; an input whose file differs per item is a varying field
whose values are numbers of ``files``, each uploaded to a server before the first chunk that
needs it, and given to its items as batch data (``{"image_name": ...}``).

``Workflow.sweep`` is a run of ``sweep_inputs``: a copy of the inputs per value, run as ``map``.

Every queue item carries the run's tag in ``destination`` and its chunk's tag in ``origin``, so
an enqueue whose answer was lost can be looked up on the server instead of being sent again.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ivkgen.runtime._fields import takes_image
from ivkgen.runtime._jobs.resolve import resolve_models
from ivkgen.runtime._jobs.submission import batch_group, batch_item
from ivkgen.runtime._jobs.uploads import Pending, PendingImage, PendingVideo, read_file
from ivkgen.runtime._media import ImageSource
from ivkgen.runtime._server.dto import ModelConfig
from ivkgen.runtime._workflow.definition import FieldRef, node_labels
from ivkgen.runtime._workflow.form import IvkWorkflowInput
from ivkgen.runtime._workflow.handle import WorkflowHandle
from pydantic import ValidationError

if TYPE_CHECKING:  # annotations only: Workflow.sweep runs on a one-server pool
    from ivkgen.runtime._typed import At, InputsT, Workflow, WorkflowInputs

TAG_PREFIX = "ivkgen:"


@dataclass(frozen=True)
class Work:
    """The items of one run (see the module docstring)."""

    handle: WorkflowHandle[Any]
    keys: tuple[FieldRef, ...]
    values: tuple[tuple[Any, ...], ...]
    files: tuple[Pending, ...] = ()
    """The local images and videos of the run, each for the input its ``index`` names."""
    file_columns: frozenset[int] = frozenset()
    """The columns of ``keys`` whose values are numbers of ``files`` (an input whose file differs
    per item); the other files are the same for every item."""
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

    @functools.cached_property
    def shared_files(self) -> list[int]:
        """The numbers of the files every item uses."""
        varying = {(n, f) for c, (n, f) in enumerate(self.keys) if c in self.file_columns}
        inputs = self.handle.list_inputs()
        return [
            number
            for number, pending in enumerate(self.files)
            if (inputs[pending.index].node_id, inputs[pending.index].field_name) not in varying
        ]

    def files_of(self, indexes: Iterable[int]) -> list[int]:
        """The numbers of the files these items use beyond the shared ones, ascending."""
        return sorted({self.values[i][c] for i in indexes for c in self.file_columns})

    @functools.cached_property
    def file_ids(self) -> list[str]:
        return [file_id(pending) for pending in self.files]

    def fingerprint(self) -> str:
        """A digest of the workflow, its inputs, its files and every item's values (a ledger
        resumes only the run it recorded)."""
        graph = self.handle.build_enqueue_body(board=self.board_id)["batch"]["graph"]
        data = {
            "graph": {"nodes": graph["nodes"], "edges": graph["edges"]},  # its id is random
            "keys": self.keys,
            "values": self.values,
            "files": [[p.index, p.kind, i] for p, i in zip(self.files, self.file_ids, strict=True)],
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()

    def item_inputs(self, index: int) -> dict[str, Any]:
        """The values item ``index`` sets, as ``"node_id.field": value`` (a file by its path or
        digest)."""
        return {
            f"{n}.{f}": self.file_ids[v] if column in self.file_columns else v
            for column, ((n, f), v) in enumerate(zip(self.keys, self.values[index], strict=True))
        }


def file_id(pending: Pending) -> str:
    """What names a local file in a ledger: its path, else the digest of its bytes."""
    if isinstance(pending.source, str | os.PathLike):
        return os.fspath(pending.source)
    return "sha256:" + hashlib.sha256(read_file(pending)[1]).hexdigest()


def local_file(entry: IvkWorkflowInput, source: Any) -> Pending:
    """The upload of ``source`` for an image or video input (checked now: it must read as one)."""
    pending: Pending
    if takes_image(entry.field):
        pending = PendingImage(entry.input_index, source)
    else:
        pending = PendingVideo(entry.input_index, source)
    try:
        read_file(pending)
    except (OSError, TypeError, ValueError) as exc:
        raise ValueError(f"input {entry.label!r}: {exc}") from None
    return pending


def _takes_file(entry: IvkWorkflowInput) -> bool:
    fields = type(entry.field).model_fields
    return "image_name" in fields or "video_name" in fields


def _input(handle: WorkflowHandle[Any], key: int | str) -> IvkWorkflowInput:
    return handle.get_input(key) if isinstance(key, int) else handle.find_input(key)


def _json_scalar(entry: IvkWorkflowInput, value: Any) -> Any:
    """A value checked by the input's field class, as the scalar a batch datum carries."""
    result = batch_item(entry, value)
    if not isinstance(result, str | int | float) or isinstance(result, bool):
        raise ValueError(
            f"input {entry.label!r} holds a {type(entry.field).__name__}: the queue substitutes "
            "only strings and numbers per item"
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
    input varies slowest), each ``runs`` times. An image or video input's values are local
    files; ``images`` (index -> local image) and the handle's own local files are shared."""
    if runs < 1:
        raise ValueError(f"runs must be at least 1, not {runs}")
    entries = [_input(handle, key) for key in (grid or {})]
    files = _Files(handle.get_pending_uploads())
    for index, source in (images or {}).items():
        files.share(local_file(handle.get_input(index), source))
    columns: list[list[Any]] = []
    for entry, values in zip(entries, (grid or {}).values(), strict=True):
        if not values:
            raise ValueError(f"input {entry.label!r}: give at least one value to sweep")
        if _takes_file(entry):
            files.vary(len(columns))
            columns.append([files.number(local_file(entry, v)) for v in values])
        else:
            columns.append([_json_scalar(entry, v) for v in values])
    combos = [c for c in itertools.product(*columns) for _ in range(runs)]
    return files.work(handle, tuple((e.node_id, e.field_name) for e in entries), combos, board_id)


class _Files:
    """The local files of a run being put together: shared ones by input, the others numbered
    once per distinct file."""

    def __init__(self, shared: Iterable[Pending] = ()) -> None:
        self.by_input = {pending.index: pending for pending in shared}
        self.varying: list[Pending] = []
        self.numbers: dict[tuple[int, str], int] = {}
        self.columns: set[int] = set()

    def share(self, pending: Pending) -> None:
        self.by_input[pending.index] = pending

    def vary(self, column: int) -> None:
        self.columns.add(column)

    def number(self, pending: Pending) -> int:
        """The number of this file among the varying ones (the same file, the same number)."""
        key = (pending.index, file_id(pending))
        if key not in self.numbers:
            self.numbers[key] = len(self.varying)
            self.varying.append(pending)
        return self.numbers[key]

    def work(
        self,
        handle: WorkflowHandle[Any],
        keys: tuple[FieldRef, ...],
        values: Sequence[tuple[Any, ...]],
        board_id: str | None,
    ) -> Work:
        shared = [p for i, p in sorted(self.by_input.items()) if i not in self._varying_inputs()]
        offset = len(shared)  # the shared files come first: varying file k is number offset + k
        shift = [
            tuple(v + offset if c in self.columns else v for c, v in enumerate(item))
            for item in values
        ]
        return Work(
            handle, keys, tuple(shift), (*shared, *self.varying), frozenset(self.columns), board_id
        )

    def _varying_inputs(self) -> set[int]:
        return {pending.index for pending in self.varying}


def run_tag(run_id: str) -> str:
    """The ``destination`` of every queue item of a run."""
    return f"{TAG_PREFIX}{run_id}"


def chunk_tag(batch_id: str) -> str:
    """The ``origin`` of the queue items of one chunk."""
    return f"{TAG_PREFIX}{batch_id}"


def server_body(
    work: Work, models: Sequence[ModelConfig], uploads: Mapping[int, str]
) -> dict[str, Any]:
    """The enqueue body for one server: its own model keys and the names of the shared files
    it was sent (``uploads``: file number -> name)."""
    handle = work.handle
    body = handle.build_enqueue_body(board=work.board_id)
    graph = body["batch"]["graph"]
    labels = node_labels(handle.definition, handle.catalog)
    patches: dict[FieldRef, Any] = dict(
        resolve_models(graph, handle.catalog, models, labels=labels)
    )
    for number in work.shared_files:
        pending = work.files[number]
        entry = handle.get_input(pending.index)
        patches[(entry.node_id, entry.field_name)] = _file_value(pending, uploads[number])
    nodes = dict(graph["nodes"])
    for (node_id, field_name), value in patches.items():
        nodes[node_id] = {**nodes[node_id], field_name: value}
    body["batch"] = {**body["batch"], "graph": {**graph, "nodes": nodes}}
    return body


def _file_value(pending: Pending, name: str) -> dict[str, str]:
    return {f"{pending.kind}_name": name}


def chunk_body(
    base: Mapping[str, Any],
    work: Work,
    indexes: Sequence[int],
    *,
    batch_id: str,
    run_id: str,
    uploads: Mapping[int, str],
) -> dict[str, Any]:
    """The enqueue body of one chunk of items, tagged with its run and chunk; ``uploads`` names
    the files of its items on the server (file number -> name)."""
    batch = {
        **base["batch"],
        "batch_id": batch_id,
        "origin": chunk_tag(batch_id),
        "destination": run_tag(run_id),
    }
    if work.keys:
        batch["runs"] = 1
        rows = [work.values[i] for i in indexes]
        columns = [[row[c] for row in rows] for c in range(len(work.keys))]
        for c in work.file_columns:
            columns[c] = [_file_value(work.files[n], uploads[n]) for n in columns[c]]
        batch["data"] = [batch_group(work.keys, columns)]
    else:
        batch["runs"] = len(indexes)
    return {"batch": batch, "prepend": False}


def module_work(
    workflow: Workflow[Any, Any], inputs: Sequence[WorkflowInputs], *, board_id: str | None = None
) -> Work:
    """The items of a generated module's workflow, one per inputs object: the inputs that
    differ between them vary per item (strings, numbers and local files), the rest is shared.
    Model inputs given by name are matched on each server by name, base and type."""
    if not inputs:
        raise ValueError("give at least one inputs object")
    handles = [_module_handle(workflow, i) for i in inputs]
    local = [{p.index: p for p in h.get_pending_uploads()} for h in handles]
    files = _Files()
    keys: list[FieldRef] = []
    columns: list[list[Any]] = []
    for at in type(inputs[0]).locations().values():
        entries = [h.find_input(node=at.node_id, field=at.field) for h in handles]
        given = [files_of.get(e.input_index) for files_of, e in zip(local, entries, strict=True)]
        if any(given):
            if not all(given):
                raise ValueError(
                    f"{type(workflow).__name__}: input {entries[0].label!r} is a local file in "
                    "some inputs objects and not in others: give each one a file"
                )
            ids = {file_id(p) for p in given if p is not None}
            if len(ids) == 1:
                files.share(given[0])  # type: ignore[arg-type]
                continue
            files.vary(len(keys))
            keys.append((at.node_id, at.field))
            columns.append([files.number(p) for p in given if p is not None])
            continue
        values = [e.field.to_json_dict() for e in entries]
        if any(v != values[0] for v in values):
            keys.append((at.node_id, at.field))
            columns.append([_json_scalar(entries[0], v) for v in values])
    items = list(zip(*columns, strict=True)) or [()] * len(inputs)
    return files.work(handles[0], tuple(keys), items, board_id)


def sweep_inputs(
    workflow: Workflow[Any, Any], inputs: InputsT, attribute: str, values: Sequence[Any]
) -> list[InputsT]:
    """A copy of ``inputs`` per value of input ``attribute``; a value the input's type rejects is a
    ``ValueError`` naming the value and the input's form label."""
    type(inputs).location(attribute)
    copies = []
    for value in values:
        copy = inputs.model_copy()
        try:
            setattr(copy, attribute, value)
        except ValidationError as exc:
            problem = "; ".join(str(error["msg"]) for error in exc.errors())
            label = _form_label(workflow, type(inputs).location(attribute), attribute)
            raise ValueError(f"sweep value {value!r} for input {label!r}: {problem}") from None
        copies.append(copy)
    return copies


def _form_label(workflow: Workflow[Any, Any], at: At, attribute: str) -> str:
    """The label the workflow's form shows for the input at ``at`` (else ``attribute``)."""
    node = workflow.definition.node_by_id(at.node_id) or {}
    field = (node.get("data") or {}).get("inputs", {}).get(at.field) or {}
    return str(field.get("label") or attribute)


def _module_handle(workflow: Workflow[Any, Any], inputs: WorkflowInputs) -> WorkflowHandle[Any]:
    handle = WorkflowHandle(workflow.definition, workflow.catalog())
    for index, name in inputs.apply_to(handle).items():
        entry = handle.get_input(index)
        saved = entry.field.to_json_dict() or {}
        by_name = {**saved, "name": name, "key": "", "hash": ""}
        handle.set_input_value(index, type(entry.field).model_validate(by_name))
    local = {pending.index for pending in handle.get_pending_uploads()}
    problems = {i: p for i, p in handle.validate_inputs().items() if i not in local}
    if problems:
        listing = "; ".join(f"[{i}] {', '.join(p)}" for i, p in problems.items())
        raise ValueError(
            f"{type(workflow).__name__}: the inputs are not ready for a pool run ({listing})"
        )
    return handle
