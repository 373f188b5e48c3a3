"""Drive invokeai-py-client 1.1.1 (run with its own venv's python); prints one JSON object.

``cpu WORKFLOW REPEATS``: seconds to set two inputs and build the enqueue body, per repeat.
``items URL WORKFLOW N``: per item, the wall seconds of ``submit_sync`` +
``wait_for_completion_sync``, and the item ids.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from invokeai_py_client import InvokeAIClient  # type: ignore[import-not-found]
from invokeai_py_client.workflow import WorkflowDefinition  # type: ignore[import-not-found]


def _handle(url: str, workflow: str) -> Any:
    client = InvokeAIClient.from_url(url)
    return client.workflow_repo.create_workflow(WorkflowDefinition.from_file(workflow))


def _index(handle: Any, label: str) -> int:
    return int(next(i.input_index for i in handle.list_inputs() if i.label == label))


def cpu(workflow: str, repeats: int) -> dict[str, Any]:
    """Set "Positive Prompt" and "Output Width" (the ivkgen row sets the same two)."""
    handle = _handle("http://127.0.0.1:9", workflow)
    prompt, width = _index(handle, "Positive Prompt"), _index(handle, "Output Width")
    samples = []
    for n in range(repeats + 1):
        started = time.perf_counter()
        handle.get_input_value(prompt).value = f"a lighthouse at dusk, take {n}"
        handle.get_input_value(width).value = 1024 + 64 * (n % 2)
        body: dict[str, Any] = {
            "prepend": False,
            "batch": {"graph": handle._convert_to_api_format(), "runs": 1},
        }
        elapsed = time.perf_counter() - started
        if n:
            samples.append(elapsed)
    return {"samples": samples, "nodes": len(body["batch"]["graph"]["nodes"])}


def items(url: str, workflow: str, count: int) -> dict[str, Any]:
    handle = _handle(url, workflow)
    walls, ids = [], []
    for _ in range(count):
        started = time.perf_counter()
        handle.submit_sync()
        item = handle.wait_for_completion_sync(timeout=120)
        walls.append(time.perf_counter() - started)
        ids.append(item["item_id"])
    return {"walls": walls, "item_ids": ids}


def main(argv: list[str]) -> None:
    if argv[0] == "cpu":
        result = cpu(argv[1], int(argv[2]))
    else:
        result = items(argv[1], argv[2], int(argv[3]))
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
