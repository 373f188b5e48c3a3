"""Load a workflow exported from InvokeAI and list its form inputs.

python examples/list_inputs.py [WORKFLOW.json] [--server URL]
"""

from __future__ import annotations

from pathlib import Path

from ivkgen.runtime import InvokeAIClient, IvkWorkflowInput, WorkflowDefinition

from examples import _common


def describe(entry: IvkWorkflowInput) -> None:
    print(f"\n[{entry.input_index}] {entry.label}")
    print(f"  Node: {entry.node_name} ({entry.node_id})")
    print(f"  Field: {entry.field_name}")
    print(f"  Type: {type(entry.field).__name__}")
    print(f"  Required: {entry.required}")
    value = entry.field.to_json_dict()
    if value is not None:
        print(f"  Current Value: {value}")


def run() -> None:
    parser = _common.parser(__doc__)
    parser.add_argument("workflow", nargs="?", type=Path, default=_common.SD15)
    args = parser.parse_args()

    with InvokeAIClient.from_url(args.server) as client:
        print(f"Server: InvokeAI {client.get_version()} at {client.base_url}")
        definition = WorkflowDefinition.from_file(args.workflow)
        handle = client.workflow_repo.create_workflow_handle(definition)

        print(f"Workflow: {handle.definition.name}")
        print(f"Description: {handle.definition.description}")
        print(f"Version: {handle.definition.version}")
        print(f"Author: {handle.definition.author}")

        inputs = handle.list_inputs()  # in form order: input_index is the position
        print(f"\nTotal configurable inputs: {len(inputs)}")
        print("=" * 60)
        for entry in inputs:
            describe(entry)

        missing = [i for i in inputs if i.required and i.field.to_json_dict() is None]
        if missing:
            print("\nRequired inputs still needed:")
            for entry in missing:
                print(f"  [{entry.input_index}] {entry.label}")


if __name__ == "__main__":
    _common.main(run)
