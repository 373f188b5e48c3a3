"""The code blocks of the dynamic API's seed run against the real server with only their import
lines changed (``IMPORTS``).

The blocks are read from the seed itself (``../shared/seeds``) and run in order in one namespace,
as a user pasting them would. The seed's workflow (``sdxl-flux-refine.json``) needs FLUX models,
which the test server cannot have, so the blocks run on ``tiny_refine``, the same workflow
without its FLUX stages: the same form order for the inputs the blocks use (0-4 prompts, size,
SDXL model; 7 steps; more than 11 inputs). ``SUBSTITUTIONS`` lists every other line changed: the
server address, that workflow's path, the image size and steps of use case 2 (64 x 64, 3 steps:
the CPU server cannot make 1024 x 768 in 25 steps within the seed's 60 s waits), and the
model of use case 2, which names one the test server has by name (empty ``key`` and ``hash``,
as a user typing a model's name writes it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ivkgen.runtime import InvokeAIClient, WorkflowHandle

from tests.live._runs import image_count

SEED = "seeds/000_89054bf621051065.txt"
SDXL_OUTPUT = "4414d4b5-82c3-4513-8c3f-86d88c24aadc"
"""The ``save_image`` node of the seed workflow's SDXL stage."""
MODEL_FREE = {"string_join_three", "float_math"}

IMPORTS = {
    "from invokeai_py_client import InvokeAIClient": "from ivkgen.runtime import InvokeAIClient",
    "from invokeai_py_client.workflow import "
    "WorkflowDefinition, WorkflowHandle, IvkWorkflowInput": (
        "from ivkgen.runtime import WorkflowDefinition, WorkflowHandle, IvkWorkflowInput"
    ),
    "from invokeai_py_client.ivk_fields import IvkField": "from ivkgen.runtime import IvkField",
    # use case 2 also uses IvkModelIdentifierField and IvkIntegerField, which it never imports
    "from invokeai_py_client.ivk_fields import "
    "IvkStringField, IvkColorField, IvkBoundingBoxField": (
        "from ivkgen.runtime import IvkStringField, IvkColorField, IvkBoundingBoxField, "
        "IvkModelIdentifierField, IvkIntegerField"
    ),
    "from invokeai_py_client.models import JobStatus, SessionEvent": (
        "from ivkgen.runtime import JobStatus, SessionEvent"
    ),
    "from invokeai_py_client.models import IvkImage": "from ivkgen.runtime import IvkImage",
    "from invokeai_py_client.board import BoardHandle": "from ivkgen.runtime import BoardHandle",
}

SUBSTITUTIONS = {
    'client = InvokeAIClient.from_url("http://localhost:9090")': (
        "client = InvokeAIClient.from_url(SERVER_URL)"
    ),
    'workflow_def = WorkflowDefinition.from_file("data/workflows/sdxl-flux-refine.json")': (
        "workflow_def = WorkflowDefinition.from_file(TINY_WORKFLOW)"
    ),
    # 1024 x 768 takes about 30 s per step on the test server's CPU: the seed's 60 s waits run out
    'width_field.value = 1024  # Pydantic converts "1024" string automatically': (
        "width_field.value = 64"
    ),
    "height_field.value = 768": "height_field.value = 64",
    "step_field.value = 25": "step_field.value = 3",  # 25 steps: about 50 s on a busy CPU
    'key="sdxl-turbo-key-999",': 'key="",',
    'hash="blake3:turbo999xyz",': 'hash="",',
    'name="SDXL Turbo",': 'name="tiny-sdxl",',
}


def seed_blocks(seed: str) -> list[str]:
    """The seed's python code blocks, each line changed as ``IMPORTS`` and ``SUBSTITUTIONS``
    say (each of those lines must occur exactly once, so a changed seed fails here)."""
    blocks = re.findall(r"```python\n(.*?)```", seed, flags=re.DOTALL)
    changes = {**IMPORTS, **SUBSTITUTIONS}
    used: dict[str, int] = dict.fromkeys(changes, 0)
    ported = []
    for block in blocks:
        lines = []
        for line in block.splitlines():
            stripped = line.strip()
            if stripped in changes:
                used[stripped] += 1
                line = line[: len(line) - len(line.lstrip())] + changes[stripped]
            else:
                assert "invokeai_py_client" not in line, f"an import not ported: {line}"
            lines.append(line)
        ported.append("\n".join(lines) + "\n")
    assert used == dict.fromkeys(changes, 1), used
    return ported


def tiny_refine(seed_workflow: dict[str, Any]) -> dict[str, Any]:
    """The seed's workflow without its FLUX stages: the SDXL stage up to its ``save_image``, the
    model-free form nodes, and the form and edges among them."""
    nodes = {node["id"]: node for node in seed_workflow["nodes"]}
    sources: dict[str, set[str]] = {}
    for edge in seed_workflow["edges"]:
        sources.setdefault(edge["target"], set()).add(edge["source"])
    kept, pending = set(), [SDXL_OUTPUT]
    while pending:
        node_id = pending.pop()
        if node_id not in kept:
            kept.add(node_id)
            pending.extend(sources.get(node_id, ()))
    kept |= {i for i, node in nodes.items() if node["data"].get("type") in MODEL_FREE}
    elements = seed_workflow["form"]["elements"]
    dropped = {
        element_id
        for element_id, element in elements.items()
        if element["type"] == "node-field"
        and element["data"]["fieldIdentifier"]["nodeId"] not in kept
    }
    form_elements = {}
    for element_id, element in elements.items():
        if element_id in dropped:
            continue
        element = json.loads(json.dumps(element))
        children = element.get("data", {}).get("children")
        if children is not None:
            element["data"]["children"] = [c for c in children if c not in dropped]
        form_elements[element_id] = element
    return {
        **seed_workflow,
        "name": "sdxl-then-refine (tiny)",
        "nodes": [node for node in seed_workflow["nodes"] if node["id"] in kept],
        "edges": [e for e in seed_workflow["edges"] if e["source"] in kept and e["target"] in kept],
        "exposedFields": [f for f in seed_workflow["exposedFields"] if f["nodeId"] in kept],
        "form": {**seed_workflow["form"], "elements": form_elements},
    }


@pytest.fixture
def blocks(shared_dir: Path) -> list[str]:
    ported = seed_blocks((shared_dir / SEED).read_text(encoding="utf-8"))
    assert len(ported) == 7  # use cases 1, 2, 3.1, 3.2, 3.3, the usage examples, 4
    return ported


@pytest.fixture
def namespace(server_url: str, shared_dir: Path, tmp_path: Path) -> dict[str, Any]:
    seed_workflow = json.loads((shared_dir / "data/workflows/sdxl-flux-refine.json").read_text())
    path = tmp_path / "sdxl-refine-tiny.json"
    path.write_text(json.dumps(tiny_refine(seed_workflow)), encoding="utf-8")
    return {"__name__": "seed", "SERVER_URL": server_url, "TINY_WORKFLOW": str(path)}


@pytest.fixture
def samples(server_url: str, tiny_models: dict[str, Any]) -> Iterator[str]:
    """A board named "samples" (the seed's board id is a name here), deleted afterwards with
    everything on it; the server is left with the images it had."""
    with InvokeAIClient.from_url(server_url) as client:
        before = image_count(client)
        board = client.board_repo.create_board("samples")
        try:
            yield board.board_id
        finally:
            client.board_repo.delete_board(board.board_id, include_images=True)
        assert image_count(client) == before


def run(block: str, namespace: dict[str, Any]) -> None:
    exec(compile(block, "<seed>", "exec"), namespace)


def test_use_cases_1_and_2_list_the_inputs_and_set_them_as_the_seed_does(
    blocks: list[str], namespace: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    run(blocks[0], namespace)
    out = capsys.readouterr().out
    assert "Workflow: sdxl-then-refine (tiny)\n" in out
    assert "Total configurable inputs: 13\n" in out
    assert "[4] SDXL Model\n  Node: sdxl_model_loader (fc066a36" in out
    assert "  Type: IvkModelIdentifierField\n" in out
    assert "Input at index 0:\n  Label: Positive Prompt\n  Node: Positive\n  Field: value\n" in out
    assert "Found FLUX model input" not in out  # the tiny workflow has none
    run(blocks[1], namespace)
    out = capsys.readouterr().out
    assert out.startswith("Field validation error: ")  # steps = -5
    assert out.endswith("All inputs are valid, workflow ready for submission\n")
    handle: WorkflowHandle = namespace["workflow_handle"]
    assert handle.get_input_value(0).value == "A majestic dragon soaring through clouds"  # type: ignore[attr-defined]
    assert handle.get_input_value(7).value == 3  # type: ignore[attr-defined]
    assert handle.get_input_value(4).to_json_dict()["name"] == "tiny-sdxl"
    namespace["client"].close()


def test_use_cases_3_and_4_submit_track_collect_and_clean_up_to_the_end(
    blocks: list[str],
    namespace: dict[str, Any],
    samples: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # use case 4 downloads into ./outputs
    # (the seed's emoji are mis-encoded as Mac Roman text: the checks below leave them out)
    for block in blocks[:5]:  # 1, 2, then the definitions of 3.1, 3.2 and 3.3
        run(block, namespace)
    handle: WorkflowHandle = namespace["workflow_handle"]
    client: InvokeAIClient = namespace["client"]
    try:
        capsys.readouterr()
        with pytest.warns(UserWarning, match="priority=5: the InvokeAI queue has no numeric"):
            run(blocks[5], namespace)  # the usage examples: sync, 4 async, hybrid
        out = capsys.readouterr().out
        assert "Status: completed - Item " in out
        assert "Job completed successfully!\n  Item ID: " in out  # 'completed_at' in item
        assert "Final status: completed\n" in out
        assert "Completed 3 workflows concurrently\n" in out
        assert re.search(r"Session ID: [0-9a-f-]{36}\n", out)
        assert " Node completed: " in out and "     Output: image\n" in out  # 'outputs'
        assert re.search(r" Progress: \d+\.\d% - ", out)
        hybrid = out.split("=== Hybrid Submission ===")[1]
        assert hybrid.endswith(" Workflow completed!\n")  # GRAPH_COMPLETE ended the monitor
        assert all(image.board_id == samples for image in handle.get_outputs())

        run(blocks[6], namespace)  # use case 4
        out = capsys.readouterr().out
        assert "Workflow completed successfully!\n   Session ID: " in out
        assert f"   Session ID: {handle.session_id}\n" in out
        found = int(re.search(r"Found (\d+) images in 'samples' board", out).group(1))  # type: ignore[union-attr]
        assert found >= 7  # one per run: every output went to the board named at submission
        assert out.count(" Deleted: ") == 3
        downloaded = list((tmp_path / "outputs" / str(handle.batch_id)).glob("output_*.png"))
        assert len(downloaded) == found
        assert re.search(r" Loaded image: \(64, 64\) RGB", out)
    finally:
        handle.cleanup_outputs()
        handle.cleanup_queue_items()
        client.close()
