"""Exports of InvokeAI 7.0's workflow editor (hand-made files in ``tests/webv2/`` written from
the format's published facts): they load, list their inputs, convert and generate like the GUI
sends them, and save back unchanged. No 7.0 server takes part."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ivkgen.runtime._errors import WorkflowError
from ivkgen.runtime._workflow.blockers import workflow_blockers
from ivkgen.runtime._workflow.catalog import (
    Catalog,
    InputSpec,
    NodeSpec,
    OutputSpec,
    default_catalog,
)
from ivkgen.runtime._workflow.convert import build_enqueue_body, build_graph
from ivkgen.runtime._workflow.definition import WorkflowDefinition
from ivkgen.runtime._workflow.form import discover_inputs

from tests.unit._workflows import edge, node, workflow

WEBV2 = Path(__file__).parents[1] / "webv2"
TEXT_TO_IMAGE = WEBV2 / "text-to-image.json"
FOR_LOOP = WEBV2 / "for-loop.json"


def _input(name: str, type_: str, ivk_class: str, connection_only: bool) -> InputSpec:
    kind = "connection" if connection_only else "any"
    return InputSpec(name, type_, ivk_class, False, kind, connection_only)


def _loop_catalog() -> Catalog:
    """The 6.14.2 catalog plus the ``for`` and ``for_return`` types of InvokeAI 7.0."""
    loop_out = OutputSpec("loop_linkage", "LoopLinkage")
    for_node = NodeSpec(
        "for",
        "1.0.0",
        "For",
        "logic",
        "",
        "stable",
        "for_output",
        {"collection": _input("collection", "list[Any]", "IvkCollectionField", True)},
        {
            "item": OutputSpec("item", "Any"),
            "index": OutputSpec("index", "int"),
            "loop_linkage": loop_out,
        },
    )
    return_node = NodeSpec(
        "for_return",
        "1.0.0",
        "For Return",
        "logic",
        "",
        "stable",
        "for_return_output",
        {
            "output": _input("output", "Any", "IvkAnyField", True),
            "loop_linkage": _input("loop_linkage", "LoopLinkage", "IvkAnyField", True),
        },
        {"collection": OutputSpec("collection", "list[Any]")},
    )
    base = default_catalog()
    nodes = {**base.nodes, "for": for_node, "for_return": return_node}
    return dataclasses.replace(base, nodes=nodes)


def _golden(path: Path) -> Any:
    return json.loads(path.with_suffix(".graph.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", [TEXT_TO_IMAGE, FOR_LOOP], ids=lambda p: p.stem)
def test_an_export_saves_back_exactly_as_loaded(path: Path, tmp_path: Path) -> None:
    definition = WorkflowDefinition.from_file(path)
    definition.save(tmp_path / "again.json")
    assert json.loads((tmp_path / "again.json").read_text()) == json.loads(path.read_text())


def test_the_optional_keys_of_the_new_editor_survive_a_round_trip() -> None:
    data = WorkflowDefinition.from_file(TEXT_TO_IMAGE).to_dict()
    nodes = {n["id"]: n for n in data["nodes"]}
    prompt = nodes["positive"]["data"]["inputs"]["prompt"]
    assert (prompt["labelOverride"], prompt["descriptionOverride"]) == (True, True)
    assert nodes["noise"]["data"]["inputs"]["seed"]["seedMode"] == "random"
    assert data["form"]["elements"]["node-field-seed"]["data"]["showShuffle"] is True
    call = WorkflowDefinition.from_file(FOR_LOOP).node_by_id("call")
    assert (
        call is not None and "saved_workflow_input::prompt" in call["data"]["dynamicInputTemplates"]
    )


def test_the_graph_drops_the_current_image_view_and_its_edge() -> None:
    definition = WorkflowDefinition.from_file(TEXT_TO_IMAGE)
    graph = build_graph(definition.to_dict(), graph_id="golden")
    assert graph == _golden(TEXT_TO_IMAGE)
    assert "preview" not in graph["nodes"]
    assert all(
        "preview" not in (e["source"]["node_id"], e["destination"]["node_id"])
        for e in graph["edges"]
    )


def test_a_loop_linkage_edge_is_sent_as_a_loop_linkage_graph_edge() -> None:
    definition = WorkflowDefinition.from_file(FOR_LOOP)
    graph = build_graph(definition.to_dict(), _loop_catalog(), graph_id="golden")
    assert graph == _golden(FOR_LOOP)
    assert {
        "type": "loop_linkage",
        "source": {"node_id": "loop", "field": "loop_linkage"},
        "destination": {"node_id": "gather", "field": "loop_linkage"},
    } in graph["edges"]


def test_the_embedded_workflow_keeps_the_view_and_the_loop_edge_with_its_handles() -> None:
    body = build_enqueue_body(WorkflowDefinition.from_file(FOR_LOOP).to_dict(), _loop_catalog())
    embedded = body["batch"]["workflow"]
    assert "preview" in [n["id"] for n in embedded["nodes"]]
    loop_edge = next(e for e in embedded["edges"] if e["type"] == "loop_linkage")
    assert (loop_edge["sourceHandle"], loop_edge["targetHandle"]) == ("loop_linkage",) * 2


def test_an_empty_form_means_no_inputs() -> None:
    assert discover_inputs(WorkflowDefinition.from_file(FOR_LOOP), _loop_catalog()) == []


def test_the_form_of_the_new_editor_lists_its_fields_in_order() -> None:
    inputs = discover_inputs(WorkflowDefinition.from_file(TEXT_TO_IMAGE))
    assert [(i.label, i.node_id, i.field_name) for i in inputs] == [
        ("Prompt", "positive", "prompt"),
        ("Seed", "noise", "seed"),
        ("Steps", "denoise", "steps"),
    ]


def test_a_view_node_blocks_nothing_and_unknown_loop_types_do_on_6_14() -> None:
    assert workflow_blockers(WorkflowDefinition.from_file(TEXT_TO_IMAGE), default_catalog()) == []
    loop = WorkflowDefinition.from_file(FOR_LOOP)
    unknown = {b.node_type for b in workflow_blockers(loop, default_catalog())}
    assert unknown == {"for", "for_return"}
    assert workflow_blockers(loop, _loop_catalog()) == []


def test_a_current_image_saved_as_an_invocation_is_a_view_too() -> None:
    view = node("preview", "current_image")
    data = workflow([node("n", "add", a=1, b=2), view], [edge("n", "value", "preview", "image")])
    definition = WorkflowDefinition.from_dict(data)
    assert [n["id"] for n in definition.invocation_nodes()] == ["n"]
    assert workflow_blockers(definition, default_catalog()) == []
    assert list(build_graph(definition.to_dict())["nodes"]) == ["n"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sourceHandle": None}, "edge 'e4' has no sourceHandle"),
        ({"type": "looping"}, "edge 'e4' has unknown edge type 'looping'"),
    ],
)
def test_a_broken_loop_edge_is_a_clear_error(change: dict[str, Any], message: str) -> None:
    data = json.loads(FOR_LOOP.read_text())
    loop_edge = {**data["edges"][3], **change}
    data["edges"][3] = {key: value for key, value in loop_edge.items() if value is not None}
    with pytest.raises(WorkflowError, match=message):
        WorkflowDefinition.from_dict(data, source="for-loop.json")


def _ivkgen(*argv: str) -> subprocess.CompletedProcess[str]:
    command = Path(sys.executable).with_name("ivkgen")
    return subprocess.run([str(command), *argv], capture_output=True, text=True, check=False)


def test_gen_writes_a_module_of_a_new_editor_export(tmp_path: Path) -> None:
    done = _ivkgen("gen", str(TEXT_TO_IMAGE), "-o", str(tmp_path))
    assert done.returncode == 0, done.stderr
    source = (tmp_path / "text_to_image.py").read_text(encoding="utf-8")
    compile(source, "text_to_image.py", "exec")
    for attribute in ("prompt:", "seed:", "steps:"):
        assert attribute in source


def test_inputs_of_an_export_with_an_empty_form_lists_none() -> None:
    done = _ivkgen("inputs", str(FOR_LOOP), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["inputs"] == []


def test_gen_refuses_the_7_0_loop_types_on_the_6_14_schema_in_one_line(tmp_path: Path) -> None:
    done = _ivkgen("gen", str(FOR_LOOP), "-o", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "loop (for), gather (for_return)" in done.stderr and "--server URL" in done.stderr
