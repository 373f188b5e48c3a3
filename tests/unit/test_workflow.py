"""WorkflowDefinition: lossless load and save, accepted formats, errors naming file and node."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ivkgen.runtime._errors import IvkgenError, WorkflowError
from ivkgen.runtime._workflow.blockers import require_runnable, unknown_node_blockers
from ivkgen.runtime._workflow.catalog import default_catalog
from ivkgen.runtime._workflow.definition import WorkflowDefinition

from tests.unit._workflows import (
    collapsed,
    connector,
    edge,
    form,
    node,
    node_field,
    notes,
    workflow,
)


def _simple(**kwargs: Any) -> dict[str, Any]:
    nodes = [node("a", "integer", value=3), node("b", "add", a=1, b=2), notes("n")]
    return workflow(nodes, [edge("a", "value", "b", "a")], **kwargs)


def test_properties_come_from_the_file() -> None:
    data = _simple(name="My flow")
    data.update(author="me", description="d", version="1.2", contact="c", tags="x,y", notes="n")
    definition = WorkflowDefinition.from_dict(data)
    assert (definition.name, definition.author, definition.description) == ("My flow", "me", "d")
    assert (definition.version, definition.contact, definition.tags) == ("1.2", "c", "x,y")
    assert definition.notes == "n"
    assert definition.meta.version == "3.0.0"
    assert [n["id"] for n in definition.nodes] == ["a", "b", "n"]
    assert len(definition.edges) == 1
    assert definition.exposed_fields == []
    assert definition.form is None


@pytest.mark.parametrize("version", ["2.0.0", "3.0.0", "4.0.0"])
def test_supported_meta_versions_load(version: str) -> None:
    assert WorkflowDefinition.from_dict(_simple(version=version)).meta.version == version


def test_unknown_keys_and_exact_numbers_survive_a_round_trip(tmp_path: Path) -> None:
    data = _simple(form=form(node_field("a", "value")), exposed=[("a", "value")])
    data["id"] = "lib-id"
    data["is_published"] = False
    data["meta"]["extra"] = {"k": [1, 2.5]}
    data["nodes"][0]["width"] = 320
    data["nodes"][0]["data"]["inputs"]["value"]["custom"] = "kept"
    data["edges"].append(collapsed("a", "b"))
    definition = WorkflowDefinition.from_dict(data)
    assert definition.to_dict() == data
    path = tmp_path / "wf.json"
    definition.save(path)
    assert json.loads(path.read_text(encoding="utf-8")) == data
    assert WorkflowDefinition.from_file(path).to_dict() == data


def test_missing_or_empty_form_is_accepted_and_kept_as_is() -> None:
    without = _simple()
    assert "form" not in WorkflowDefinition.from_dict(without).to_dict()
    empty = _simple(form={"elements": {}, "rootElementId": "root"})
    assert WorkflowDefinition.from_dict(empty).to_dict()["form"] == empty["form"]


def test_connector_nodes_and_collapsed_edges_load() -> None:
    nodes = [node("a", "integer", value=1), connector("c"), node("b", "add")]
    edges = [edge("a", "value", "c", "in"), edge("c", "out", "b", "a"), collapsed("a", "b")]
    definition = WorkflowDefinition.from_dict(workflow(nodes, edges, version="4.0.0"))
    assert [n["type"] for n in definition.nodes] == ["invocation", "connector", "invocation"]


def test_loading_copies_the_input_dict() -> None:
    data = _simple()
    definition = WorkflowDefinition.from_dict(data)
    data["nodes"][0]["data"]["inputs"]["value"]["value"] = 99
    assert definition.nodes[0]["data"]["inputs"]["value"]["value"] == 3


def _error(data: Any, **kwargs: Any) -> WorkflowError:
    with pytest.raises(WorkflowError) as info:
        WorkflowDefinition.from_dict(data, source="wf.json", **kwargs)
    assert str(info.value).startswith("wf.json: ")
    assert isinstance(info.value, IvkgenError)
    return info.value


def test_not_a_workflow() -> None:
    assert "not an InvokeAI workflow" in str(_error({"hello": 1}))
    assert "not an InvokeAI workflow" in str(_error([1, 2]))


def test_edge_to_a_missing_node_names_edge_and_node() -> None:
    data = _simple()
    data["edges"].append(edge("a", "value", "ghost", "b"))
    error = _error(data)
    assert "'ghost'" in str(error) and error.node_id == "ghost"
    assert data["edges"][-1]["id"] in str(error)


def test_collapsed_edge_to_a_missing_node_is_an_error() -> None:
    data = _simple()
    data["edges"].append(collapsed("ghost", "a"))
    assert _error(data).node_id == "ghost"


def test_unknown_invocation_type_loads_and_blocks_submission_naming_node_and_type() -> None:
    data = _simple()
    data["nodes"].append(node("x", "canny_image_processor"))
    definition = WorkflowDefinition.from_dict(data)
    assert definition.to_dict() == data
    (blocker,) = unknown_node_blockers(definition, default_catalog())
    assert (blocker.node_id, blocker.node_type) == ("x", "canny_image_processor")
    with pytest.raises(WorkflowError) as info:
        require_runnable(definition, default_catalog())
    assert (info.value.node_id, info.value.node_type) == ("x", "canny_image_processor")
    assert "(x)" in str(info.value) and "'canny_image_processor'" in str(info.value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["meta"].update(version="1.0.0"), "meta.version '1.0.0' is not supported"),
        (lambda d: d["nodes"][0].update(type="image_preview"), "unknown node type"),
        (lambda d: d["nodes"][1].pop("data"), "no 'data' object"),
        (lambda d: d["nodes"][0]["data"].pop("inputs"), "no valid 'inputs' map"),
        (lambda d: d["nodes"].append(node("a", "integer")), "node id 'a' appears twice"),
        (lambda d: d["edges"][0].update(type="fancy"), "unknown edge type"),
        (lambda d: d["edges"][0].pop("targetHandle"), "has no targetHandle"),
        (lambda d: d.update(name=5), "name"),
    ],
)
def test_malformed_workflows_raise_workflow_error(change: Any, expected: str) -> None:
    data = _simple()
    change(data)
    assert expected in str(_error(data))


def test_node_errors_carry_the_node_id() -> None:
    data = _simple()
    data["nodes"][0]["data"].pop("inputs")
    assert _error(data).node_id == "a"


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(WorkflowError, match=r"bad\.json: not JSON"):
        WorkflowDefinition.from_file(bad)
    with pytest.raises(WorkflowError, match=r"missing\.json: cannot read"):
        WorkflowDefinition.from_file(tmp_path / "missing.json")
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({**_simple(), "edges": [edge("a", "value", "zz", "b")]}))
    with pytest.raises(WorkflowError, match=r"wrong\.json: .*'zz'"):
        WorkflowDefinition.from_file(wrong)
