"""Set the inputs of the SD1.5 workflow by index, check them, catch a bad value.

    python examples/set_inputs.py [--server URL] [--model NAME] [--size PX] [--steps N]

``prepare()`` is what the later examples start from.
"""

from __future__ import annotations

import argparse
from typing import Any

from ivkgen.runtime import (
    InvokeAIClient,
    IvkIntegerField,
    IvkModelIdentifierField,
    IvkSchedulerField,
    IvkStringField,
    ModelConfig,
    WorkflowHandle,
)
from pydantic import ValidationError

from examples import _common

PROMPT = "a lighthouse on a cliff, watercolor"


def configure(handle: WorkflowHandle[Any], model: ModelConfig, size: int, steps: int) -> None:
    """Set the SD1.5 form: indices 0-7 are Positive Prompt, Negative Prompt, Width, Height,
    Steps, CFG Scale, Scheduler, Model (see list_inputs.py)."""
    prompt = handle.get_input_value(0)  # the field itself: assigning to it sets the input
    if isinstance(prompt, IvkStringField):
        prompt.value = PROMPT
    for index, value in ((2, size), (3, size), (4, steps)):
        field = handle.get_input_value(index)
        if isinstance(field, IvkIntegerField):
            field.value = value
    scheduler = handle.find_input("Scheduler").field  # by label, when you know it
    if isinstance(scheduler, IvkSchedulerField):
        scheduler.value = "euler"
    # a whole new field of the same class replaces the old one
    handle.set_input_value(7, IvkModelIdentifierField(**model.identifier()))


def prepare(client: InvokeAIClient, args: argparse.Namespace) -> WorkflowHandle[InvokeAIClient]:
    """A handle on the SD1.5 workflow with every input set from the command line."""
    handle = client.workflow_repo.create_workflow_handle(_common.SD15)
    configure(handle, _common.find_model(client, args.model), args.size, args.steps)
    return handle


def run() -> None:
    args = _common.parser(__doc__).parse_args()
    with InvokeAIClient.from_url(args.server) as client:
        handle = prepare(client, args)
        for entry in handle.list_inputs()[:8]:
            print(f"✓ Set [{entry.input_index}] {entry.label} = {entry.field.to_json_dict()}")

        steps = handle.get_input_value(4)
        assert isinstance(steps, IvkIntegerField)
        try:
            steps.value = -5  # the schema says steps > 0
        except ValidationError as exc:
            print(f"\nField validation error: {exc.errors()[0]['msg']}")
        print(f"Steps still {steps.to_json_dict()}")

        problems = handle.validate_inputs()  # index -> messages; empty when ready
        for index, messages in problems.items():
            print(f"  [{index}] {handle.get_input(index).label}: {', '.join(messages)}")
        if not problems:
            print("All inputs are valid, workflow ready for submission")


if __name__ == "__main__":
    _common.main(run)
