"""A sweep of a generated module's workflow over a pool: one inputs object per value of one
input (the pool's ``map`` runs them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

if TYPE_CHECKING:
    from ivkgen.runtime._typed import At, InputsT, Workflow


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


__all__ = ["sweep_inputs"]
