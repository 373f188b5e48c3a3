"""The big benchmark workflow: a real workflow repeated under new ids, still a valid workflow."""

from __future__ import annotations

from pathlib import Path

from ivkgen.runtime import WorkflowDefinition, WorkflowHandle

from bench.scale import scaled_workflow

SOURCE = Path(__file__).resolve().parents[2] / "data" / "workflows" / "sd15-text-to-image.json"


def test_a_scaled_workflow_repeats_nodes_edges_and_form_under_new_ids() -> None:
    small = WorkflowHandle(WorkflowDefinition.from_file(SOURCE))
    big = scaled_workflow(SOURCE, 20)  # 7 nodes: 3 copies
    ids = [node["id"] for node in big["nodes"]]
    assert len(ids) == 21 and len(set(ids)) == 21
    assert all(edge["source"] in ids and edge["target"] in ids for edge in big["edges"])
    handle = WorkflowHandle(WorkflowDefinition.from_dict(big))
    assert len(handle.list_inputs()) == 3 * len(small.list_inputs())
    assert len(handle.build_enqueue_body()["batch"]["graph"]["nodes"]) == 21
