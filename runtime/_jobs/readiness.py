"""What a submission refuses before anything is sent, as ``validate_inputs()`` names it: nodes the
server's catalog does not have, a model input set to a model of a base or type it does not take,
and a required input without a value. Pure."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from ivkgen.runtime._errors import WorkflowError
from ivkgen.runtime._jobs.resolve import kind_problem
from ivkgen.runtime._workflow.blockers import require_runnable
from ivkgen.runtime._workflow.catalog import Catalog, InputSpec
from ivkgen.runtime._workflow.definition import WorkflowDefinition
from ivkgen.runtime._workflow.form import IvkWorkflowInput


def require_sendable(
    definition: WorkflowDefinition,
    catalog: Catalog,
    inputs: Sequence[IvkWorkflowInput],
    specs: Sequence[InputSpec],
    values: Sequence[Any],
    given: Collection[int],
) -> None:
    """Raise ``WorkflowError`` naming the nodes of types the catalog does not have, else a model
    input whose value (``values``, by input) is a model of a base or type the input does not
    take, else the required inputs without a value that are not ``given`` one otherwise (a file
    to upload, sweep values): the server would reject or fail them."""
    require_runnable(definition, catalog)
    name = definition.name
    for item, spec, value in zip(inputs, specs, values, strict=True):
        problem = kind_problem(value, spec) if isinstance(value, dict) else None
        if problem:
            raise WorkflowError(
                f"workflow {name!r} cannot be sent: input [{item.input_index}] {item.label!r} "
                f"{problem}",
                node_id=item.node_id,
                field_name=item.field_name,
            )
    unset = [
        item
        for item, value in zip(inputs, values, strict=True)
        if item.required and item.input_index not in given and value is None
    ]
    if unset:
        listed = ", ".join(f"[{item.input_index}] {item.label!r}" for item in unset)
        raise WorkflowError(
            f"workflow {name!r} cannot be sent: required input(s) {listed} have no value; set "
            "them first (validate_inputs() lists every problem)",
            node_id=unset[0].node_id,
            field_name=unset[0].field_name,
        )
