"""WorkflowHandle offline: access by index, label and node/field, edits, validation, the body."""

from __future__ import annotations

from typing import Any

import pytest
from ivkgen.runtime._errors import InputLookupError
from ivkgen.runtime._values import IvkFloatField, IvkIntegerField, IvkStringField
from ivkgen.runtime._workflow.convert import build_enqueue_body
from ivkgen.runtime._workflow.definition import WorkflowDefinition
from ivkgen.runtime._workflow.handle import WorkflowHandle

from tests.unit._workflows import ABSENT, edge, field, form, node, node_field, workflow

MODEL = {"key": "k1", "hash": "h", "name": "m", "base": "sd-1", "type": "main"}


def _definition() -> WorkflowDefinition:
    nodes = [
        node("w", "integer", label="Width", value=field("value", 512, label="Size")),
        node("h", "integer", label="Height", value=field("value", 256, label="Size")),
        node("p", "string", label="Prompt", value=ABSENT),
        node("blur", "img_blur", image=None, radius=2.0, board="auto"),
        node("loader", "main_model_loader", model=ABSENT),
        node("sum", "add", a=1, b=2),
    ]
    edges = [edge("w", "value", "sum", "a")]
    layout = form(
        node_field("w", "value"),
        node_field("h", "value"),
        node_field("p", "value"),
        node_field("blur", "radius"),
        node_field("blur", "image"),
        node_field("loader", "model"),
        node_field("blur", "board"),
    )
    return WorkflowDefinition.from_dict(workflow(nodes, edges, form=layout, name="demo"))


@pytest.fixture
def handle() -> WorkflowHandle:
    return WorkflowHandle(_definition())


def test_inputs_by_index(handle: WorkflowHandle) -> None:
    inputs = handle.list_inputs()
    assert [i.input_index for i in inputs] == list(range(7))
    assert handle.get_input(0) is inputs[0]
    assert handle.get_input_value(1) is inputs[1].field
    assert handle.definition.name == "demo"
    with pytest.raises(InputLookupError, match=r"inputs 0\.\.6, not 7"):
        handle.get_input(7)
    with pytest.raises(LookupError):
        handle.get_input(-1)


def test_lookup_by_label_and_by_node_and_field(handle: WorkflowHandle) -> None:
    assert handle.find_input("Radius").field_name == "radius"
    assert handle.find_input(node="Height", field="value").node_id == "h"
    assert handle.find_input(node="w", field="value").node_name == "Width"
    with pytest.raises(InputLookupError, match=r"2 inputs have label 'Size'.*\[0\].*\[1\]"):
        handle.find_input("Size")
    with pytest.raises(InputLookupError, match="no input has label 'Nope'"):
        handle.find_input("Nope")
    with pytest.raises(LookupError):
        handle.find_input(node="Width", field="nope")
    with pytest.raises(TypeError):
        handle.find_input()


def test_lookup_by_node_name_is_ambiguous_when_names_repeat() -> None:
    nodes = [node("x", "integer", value=1), node("y", "integer", value=2)]
    layout = form(node_field("x", "value"), node_field("y", "value"))
    handle = WorkflowHandle(WorkflowDefinition.from_dict(workflow(nodes, form=layout)))
    with pytest.raises(InputLookupError, match="2 inputs have node 'integer' field 'value'"):
        handle.find_input(node="integer", field="value")


def test_set_input_value_needs_the_same_class(handle: WorkflowHandle) -> None:
    handle.set_input_value(0, IvkIntegerField(value=640))
    assert handle.get_input_value(0).to_json_dict() == 640
    with pytest.raises(
        TypeError, match=r"input \[0\] 'Size' holds a IvkIntegerField, not a IvkFloat"
    ):
        handle.set_input_value(0, IvkFloatField(value=1.0))


def test_field_attributes_validate_on_assignment(handle: WorkflowHandle) -> None:
    radius = handle.get_input_value(3)
    with pytest.raises(ValueError, match="ge=0"):
        radius.value = -1.0  # type: ignore[attr-defined]


def test_handles_on_one_definition_are_independent() -> None:
    definition = _definition()
    before = definition.to_dict()
    first, second = WorkflowHandle(definition), WorkflowHandle(definition)
    first.get_input_value(0).value = 1024  # type: ignore[attr-defined]
    first.set_input_value(2, IvkStringField(value="cat"))
    assert second.get_input_value(0).to_json_dict() == 512
    assert second.get_input_value(2).to_json_dict() == ""  # absent: the schema default
    assert definition.to_dict() == before


def test_validate_inputs_names_missing_required_values_and_broken_constraints(
    handle: WorkflowHandle,
) -> None:
    assert handle.validate_inputs() == {
        4: ["required: set a value"],
        5: ["required: set a value"],
    }
    handle.set_input_value(3, IvkFloatField(value=-2.0))  # built without the schema's ge=0
    handle.get_input_value(4).value = "x.png"  # type: ignore[attr-defined]
    handle.set_input_value(5, type(handle.get_input_value(5)).model_validate(MODEL))
    problems = handle.validate_inputs()
    assert list(problems) == [3] and "ge=0" in problems[3][0]


def test_validate_inputs_reports_a_rejected_saved_value_until_it_is_replaced() -> None:
    nodes = [node("x", "img_blur", radius=-3.0)]
    handle = WorkflowHandle(
        WorkflowDefinition.from_dict(workflow(nodes, form=form(node_field("x", "radius"))))
    )
    assert "rejected" in handle.validate_inputs()[0][0]
    handle.get_input_value(0).value = 1.0  # type: ignore[attr-defined]
    assert handle.validate_inputs() == {}


def test_validate_inputs_reports_an_incomplete_struct(handle: WorkflowHandle) -> None:
    model = handle.get_input_value(5)
    model.key = "only-a-key"  # type: ignore[attr-defined]
    assert "missing" in handle.validate_inputs()[5][0]


def _nodes(body: dict[str, Any]) -> dict[str, Any]:
    nodes: dict[str, Any] = body["batch"]["graph"]["nodes"]
    return nodes


def test_an_untouched_handle_converts_exactly_like_the_definition(handle: WorkflowHandle) -> None:
    body = handle.build_enqueue_body()
    assert body["batch"]["workflow"]["nodes"] == _definition().to_dict()["nodes"]
    nodes = _nodes(body)
    assert "value" not in nodes["p"]  # absent stays absent although the field shows a default
    assert "model" not in nodes["loader"]
    assert "a" not in nodes["sum"]


def test_current_values_reach_the_graph_and_the_embedded_workflow(handle: WorkflowHandle) -> None:
    handle.get_input_value(0).value = 1024  # type: ignore[attr-defined]
    handle.set_input_value(2, IvkStringField(value="a cat"))
    handle.get_input_value(6).value = "board-7"  # type: ignore[attr-defined]
    body = handle.build_enqueue_body(runs=2, prepend=True)
    nodes = _nodes(body)
    assert nodes["w"]["value"] == 1024 and nodes["p"]["value"] == "a cat"
    assert nodes["blur"]["board"] == {"board_id": "board-7"}
    saved = {n["id"]: n for n in body["batch"]["workflow"]["nodes"]}
    assert saved["w"]["data"]["inputs"]["value"]["value"] == 1024
    assert (body["batch"]["runs"], body["prepend"]) == (2, True)


def test_the_auto_board_uses_the_board_passed_to_the_body(handle: WorkflowHandle) -> None:
    assert "board" not in _nodes(handle.build_enqueue_body())["blur"]
    assert _nodes(handle.build_enqueue_body(board="b9"))["blur"]["board"] == {"board_id": "b9"}


def test_clearing_a_value_removes_it_from_the_graph(handle: WorkflowHandle) -> None:
    handle.get_input_value(3).value = None  # type: ignore[attr-defined]
    assert "radius" not in _nodes(handle.build_enqueue_body())["blur"]


def _without_graph_id(body: dict[str, Any]) -> dict[str, Any]:
    body["batch"]["graph"].pop("id")
    return body


def test_the_body_is_the_conversion_of_the_workflow_with_values(handle: WorkflowHandle) -> None:
    handle.get_input_value(0).value = 1024  # type: ignore[attr-defined]
    handle.get_input_value(3).value = None  # type: ignore[attr-defined]
    handle.set_input_value(5, type(handle.get_input_value(5)).model_validate(MODEL))
    handle.get_input_value(6).value = "board-7"  # type: ignore[attr-defined]
    for board in (None, "b9"):
        expected = build_enqueue_body(handle.workflow_with_values(), board=board)
        body = handle.build_enqueue_body(board=board)
        assert _without_graph_id(body) == _without_graph_id(expected)


def test_in_place_edits_of_a_field_reach_the_next_body(handle: WorkflowHandle) -> None:
    handle.set_input_value(5, type(handle.get_input_value(5)).model_validate(MODEL))
    first = handle.build_enqueue_body()
    handle.get_input_value(5).key = "k2"  # type: ignore[attr-defined]
    handle.get_input_value(6).value = "board-7"  # type: ignore[attr-defined]
    second = handle.build_enqueue_body()
    assert _nodes(first)["loader"]["model"]["key"] == "k1" and "board" not in _nodes(first)["blur"]
    assert _nodes(second)["loader"]["model"]["key"] == "k2"
    assert _nodes(second)["blur"]["board"] == {"board_id": "board-7"}
    handle.set_input_value(5, type(handle.get_input_value(5)).model_validate(MODEL))
    assert _nodes(handle.build_enqueue_body())["loader"]["model"]["key"] == "k1"


def test_editing_a_body_leaves_the_next_one_alone() -> None:
    definition = _definition()
    handle, expected = WorkflowHandle(definition), WorkflowHandle(definition)
    for each in (handle, expected):
        each.get_input_value(0).value = 1024  # type: ignore[attr-defined]
    first = handle.build_enqueue_body()
    _nodes(first)["w"]["value"] = 1
    _nodes(first)["blur"].clear()
    first["batch"]["graph"]["edges"].clear()
    first["batch"]["workflow"]["nodes"].pop()
    first["batch"]["workflow"]["nodes"][0]["data"]["inputs"]["value"]["value"] = 2
    second = _without_graph_id(handle.build_enqueue_body())
    assert second == _without_graph_id(expected.build_enqueue_body())
