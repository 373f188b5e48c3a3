"""The team's workflows in data/workflows: each goes into the server's library and runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ivkgen.runtime._client import InvokeAIClient
from ivkgen.runtime._workflow.definition import WorkflowDefinition

from tests.conftest import REPO

WORKFLOWS = sorted((REPO / "data" / "workflows").glob("*.json"))
EXPECTED_IMAGES = {
    "image-pipeline.json": [(48, 48)],
    "prompt-arithmetic.json": [(48, 48)],
    "width-sweep.json": [(32, 32), (48, 32), (64, 32)],
    "sd15-text-to-image.json": [(64, 64)],
}


@pytest.fixture(scope="module")
def client(server_url: str) -> Iterator[InvokeAIClient]:
    with InvokeAIClient.from_url(server_url) as client:
        yield client


def test_every_team_workflow_is_listed() -> None:
    assert [path.name for path in WORKFLOWS] == sorted(EXPECTED_IMAGES)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.stem)
def test_team_workflow_saves_to_the_library_and_runs(
    client: InvokeAIClient, tiny_models: dict[str, dict[str, Any]], path: Path
) -> None:
    definition = WorkflowDefinition.from_file(path)
    record = client.workflow_repo.create_workflow(definition)
    try:
        stored = client.workflow_repo.download_workflow(record.workflow_id)
        assert stored.name == definition.name
        assert [n["id"] for n in stored.nodes] == [n["id"] for n in definition.nodes]
    finally:
        client.workflow_repo.delete_workflow(record.workflow_id)

    handle = client.workflow_repo.create_workflow_handle(definition)
    assert handle.list_inputs(), f"{path.name} shows no form inputs"
    if path.name == "sd15-text-to-image.json":
        model = handle.find_input("Model")
        handle.set_input_value(model.input_index, type(model.field)(**tiny_models["tiny-sd15"]))
        for label, value in (("Width", 64), ("Height", 64), ("Steps", 3)):
            handle.find_input(label).field.value = value  # type: ignore[attr-defined]
    with handle:
        handle.submit_sync()
        job = handle.wait_for_completion_sync(timeout=180)
        assert job.status == "completed"
        sizes = sorted(
            (image.to_pil().width, image.to_pil().height) for image in handle.get_outputs()
        )
        assert sizes == EXPECTED_IMAGES[path.name]
        handle.cleanup_outputs()
