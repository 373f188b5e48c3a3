"""Models given by name in a request (or as a served default): each set, before the run is
recorded, to the identifier of the installed model so named that its input takes, as
``ivkgen run --set model=NAME`` and the typed API resolve it (``pick_model``), against the
models of the servers that answer (the list each server's runs share)."""

from __future__ import annotations

import asyncio
from typing import Any

from ivkgen.runtime._errors import IvkgenError, WorkflowError
from ivkgen.runtime._jobs.plans import MODELS
from ivkgen.runtime._repositories.models import ModelOps
from ivkgen.runtime._server.dto import ModelConfig
from ivkgen.runtime._workflow.handle import WorkflowHandle
from ivkgen.runtime._workflow.model_inputs import pick_model
from ivkgen.service.catalog import ServedWorkflow
from ivkgen.service.problems import Unavailable, Unprocessable, input_error
from ivkgen.service.state import Service

RETRY_AFTER_SECONDS = 5


async def with_models_named(
    state: Service, served: ServedWorkflow, inputs: dict[str, Any]
) -> dict[str, Any]:
    """``inputs`` (JSON data, media given by path) with each model given by name replaced by
    its identifier; a name no answering server has, or of a base or type its input does not
    take, is a 422 naming the input."""
    if not any(isinstance(inputs.get(a), str) for a in served.model_names):
        return inputs
    workflow = served.workflow
    handle = WorkflowHandle(workflow.definition, catalog=workflow.catalog())
    by_index = served.inputs(inputs).apply_to(handle)
    if not by_index:
        return inputs
    models = await _installed(state)
    picked = {}
    for attribute, at in workflow.inputs_class.locations().items():
        index = handle.find_input(node=at.node_id, field=at.field).input_index
        if index not in by_index:
            continue
        try:
            pick_model(handle, index, by_index[index], models)
        except WorkflowError as exc:
            raise Unprocessable(str(exc), errors=[input_error(attribute, str(exc))]) from None
        picked[attribute] = handle.get_input(index).field.to_json_dict()
    return {**inputs, **picked}


async def _installed(state: Service) -> list[ModelConfig]:
    """The models installed on the servers that answer (each server's list, kept a while)."""
    clients = [
        shared
        for name, shared in state.runner.clients.items()
        if state.health.answers.get(name) is not False
    ]
    answers = await asyncio.gather(
        *(shared.execute(ModelOps.list_models.call(MODELS)) for shared in clients),
        return_exceptions=True,
    )
    lists = [answer for answer in answers if isinstance(answer, list)]
    errors = [answer for answer in answers if not isinstance(answer, list)]
    unexpected = [e for e in errors if not isinstance(e, IvkgenError)]
    if unexpected:
        raise unexpected[0]
    if not lists:
        raise Unavailable(
            "no InvokeAI server answers: retry later", retry_after=RETRY_AFTER_SECONDS
        )
    return [model for listed in lists for model in listed]


__all__ = ["with_models_named"]
