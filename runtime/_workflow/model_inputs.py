"""Model inputs given by an installed model's name: pick the model, or list the closest ones.

The typed API (``Workflow.handle``), ``ivkgen run --set model=NAME`` and the service resolve a
name this way; the server side (what an input takes, the messages) is
:mod:`~ivkgen.runtime._jobs.resolve`, imported on first use so a generated module's import stays
light.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ivkgen.runtime._errors import WorkflowError

if TYPE_CHECKING:
    from ivkgen.runtime._server.dto import ModelConfig
    from ivkgen.runtime._workflow.catalog import InputSpec
    from ivkgen.runtime._workflow.workflow_form import WorkflowForm


def pick_model(handle: WorkflowForm, index: int, name: str, models: Sequence[ModelConfig]) -> None:
    """Set model input ``index`` to the installed model called ``name`` that the input takes
    (its schema's bases and types; of the saved base and type when several do). ``models`` are
    the installed models (at least those called ``name``). A name no installed model has, or
    whose models are of a base or type the input does not take, is a ``WorkflowError`` naming
    the input, what it takes and the installed models it takes."""
    from ivkgen.runtime._jobs.resolve import installed_it_takes, kind_problem, takes

    entry = handle.get_input(index)
    spec = _spec(handle, index)
    saved = entry.field.to_json_dict() or {}
    named = [m for m in models if m.name == name]
    fitting = [m for m in named if takes(spec, m.base, m.type)]
    same_kind = [m for m in fitting if (m.base, m.type) == (saved.get("base"), saved.get("type"))]
    chosen = (same_kind or fitting)[:1]
    if not chosen:
        problem = (
            kind_problem(named[0].identifier(), spec)
            if named
            else f"no model named {name!r} is installed on the server"
        )
        raise WorkflowError(
            f"input {entry.label!r} (node {entry.node_id}, field {entry.field_name}): {problem}; "
            + installed_it_takes({**saved, "name": name}, models, spec),
            node_id=entry.node_id,
            field_name=entry.field_name,
        )
    handle.set_input_value(index, type(entry.field).model_validate(chosen[0].identifier()))


def input_candidates(
    handle: WorkflowForm, index: int, name: str, models: Sequence[ModelConfig]
) -> list[ModelConfig]:
    """The installed models closest to ``name`` for model input ``index``: those it takes (its
    schema's bases and types) first."""
    from ivkgen.runtime._jobs.resolve import candidates

    saved = handle.get_input(index).field.to_json_dict() or {}
    return candidates({**saved, "name": name}, models, _spec(handle, index))


def _spec(handle: WorkflowForm, index: int) -> InputSpec:
    from ivkgen.runtime._workflow.form import entry_spec

    return entry_spec(handle.definition, handle.get_input(index), handle.catalog)
