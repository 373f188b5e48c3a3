"""``WorkflowForm``: one workflow's form inputs, their values and the enqueue body; no client.

A form holds its workflow, its input fields (one ``IvkWorkflowInput`` list) and the local files
given to its image and video inputs (uploaded when a run is submitted); it never changes its
``WorkflowDefinition``, so several forms on one definition are independent. The conversion is
made once, from the definition as it is at the first ``build_enqueue_body()`` (a definition
edited after that needs a new form); each body only applies the inputs whose values differ from
the saved ones. An input's JSON value is reused while its field is the same object holding the
same immutable attribute values.
"""

from __future__ import annotations

import copy
import functools
import operator
from collections.abc import Mapping, Sequence
from typing import Any

from ivkgen.runtime._errors import InputLookupError, WorkflowError
from ivkgen.runtime._fields import IvkField, IvkStructField
from ivkgen.runtime._jobs.plans import Plan
from ivkgen.runtime._jobs.readiness import require_sendable
from ivkgen.runtime._jobs.resolve import kind_problem
from ivkgen.runtime._jobs.submission import (
    EnqueueRequest,
    WorkflowFacts,
    submit_plan,
    sweep_group,
    user_set_models,
)
from ivkgen.runtime._jobs.tracker import SubmitResult
from ivkgen.runtime._jobs.uploads import Pending, PendingImage, PendingVideo, UploadTracker
from ivkgen.runtime._media import ImageSource, OutputKind, VideoSource
from ivkgen.runtime._server.dto import ImageCategory
from ivkgen.runtime._values import constraint_problem
from ivkgen.runtime._workflow.blockers import InputProblems, form_problems
from ivkgen.runtime._workflow.catalog import Catalog, InputSpec, default_catalog
from ivkgen.runtime._workflow.convert import Conversion, write_value
from ivkgen.runtime._workflow.definition import FieldRef, WorkflowDefinition, node_labels
from ivkgen.runtime._workflow.form import IvkWorkflowInput, discover_inputs, entry_spec

_UNSET = object()


class WorkflowForm:
    """One workflow's inputs, set by index, label or node and field, and the enqueue body of
    their values; image and video inputs take local files, uploaded when a run is submitted."""

    def __init__(self, definition: WorkflowDefinition, catalog: Catalog | None = None) -> None:
        self._definition = definition
        self._catalog = catalog or default_catalog()
        self._inputs = discover_inputs(definition, self._catalog)
        self._specs = [entry_spec(definition, i, self._catalog) for i in self._inputs]
        self._saved = [_json_value(i.field) for i in self._inputs]
        self._values: dict[int, _KnownValue] = {}
        self.uploads = UploadTracker()
        """The image and video inputs' local files: those to upload, and those uploaded."""

    @property
    def definition(self) -> WorkflowDefinition:
        """The workflow as loaded; the form's edits live in its inputs, not here."""
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
        in ``.workflow`` what no input can fix (see ``ivkgen.runtime._workflow.blockers``)."""
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
        Unchanged parts are shared with the form's cached conversion (see ``Conversion``)."""
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

    @functools.cached_property
    def node_labels(self) -> dict[str, str]:
        """Node id -> the label the GUI shows (failing nodes and outputs are named by it)."""
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
        self.uploads.add(PendingImage(entry.input_index, image, category, is_intermediate))

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
        self.uploads.add(PendingVideo(entry.input_index, video, category, is_intermediate))

    def get_pending_uploads(self) -> list[Pending]:
        """The image and video inputs given local files that are not on the server (yet), in
        input order."""
        return self.uploads.to_upload()

    def get_uploaded_assets(self) -> list[str]:
        """Names of this form's uploaded images and videos still on the server."""
        return [uploaded.name for uploaded in self.uploads.assets()]

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

    def submission(
        self,
        queue_id: str,
        board_id: str | None,
        priority: int,
        runs: int,
        sweep: Mapping[int | str, Sequence[Any]] | None,
    ) -> tuple[EnqueueRequest, Plan[SubmitResult]]:
        """The request and the plan of one submission of the current values (the inputs and
        the sweep are checked here, before anything is sent)."""
        swept = [(self._entry(k), v) for k, v in (sweep or {}).items()]
        group = sweep_group(swept) if swept else None
        given = {entry.input_index for entry, _ in swept} | set(self.uploads.sources)
        values = [_json_value(item.field) for item in self._inputs]
        require_sendable(self._definition, self._catalog, self._inputs, self._specs, values, given)
        request = EnqueueRequest(queue_id, board_id, priority, runs, group)
        facts = WorkflowFacts(
            self._definition,
            self._catalog,
            changed=frozenset(self._changes()),
            changed_models=user_set_models(self._definition, self._inputs),
            labels=self.node_labels,
        )
        plan = submit_plan(request, self.uploads, self._inputs, self._enqueue_body, facts)
        return request, plan


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
