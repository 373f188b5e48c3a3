"""Form inputs: which fields, in which order, with which label, class, value and requiredness."""

from __future__ import annotations

import re

import pytest
from ivkgen.runtime._errors import WorkflowError, WorkflowWarning
from ivkgen.runtime._values import IvkFloatField, IvkIntegerField, IvkStringField
from ivkgen.runtime._workflow.catalog import default_catalog
from ivkgen.runtime._workflow.definition import WorkflowDefinition
from ivkgen.runtime._workflow.form import IvkWorkflowInput, discover_inputs, form_field_refs

from tests.unit._workflows import (
    ABSENT,
    container,
    edge,
    field,
    form,
    heading,
    node,
    node_field,
    notes,
    workflow,
)

NODES = [
    node("i1", "integer", value=1),
    node("i2", "integer", label="Second", value=2),
    node("s", "string", value="hi"),
    node("blur", "img_blur", image=None, radius=2.5),
]


def _inputs(data: dict[str, object]) -> list[IvkWorkflowInput]:
    return discover_inputs(WorkflowDefinition.from_dict(data))


def _refs(inputs: list[IvkWorkflowInput]) -> list[tuple[str, str]]:
    return [(i.node_id, i.field_name) for i in inputs]


def test_form_order_is_depth_first_in_children_order() -> None:
    layout = form(
        node_field("s", "value"),
        heading("Sizes"),
        container(
            container(node_field("i2", "value"), layout="row"),
            node_field("blur", "radius"),
        ),
        node_field("i1", "value"),
    )
    inputs = _inputs(workflow(NODES, form=layout, exposed=[("i1", "value")]))
    assert _refs(inputs) == [("s", "value"), ("i2", "value"), ("blur", "radius"), ("i1", "value")]
    assert [i.input_index for i in inputs] == [0, 1, 2, 3]


@pytest.mark.parametrize("layout", [None, {"elements": {}, "rootElementId": "root"}, form()])
def test_exposed_fields_are_the_inputs_when_the_form_is_empty(layout: dict | None) -> None:
    exposed = [("blur", "radius"), ("i1", "value")]
    assert _refs(_inputs(workflow(NODES, form=layout, exposed=exposed))) == exposed


def test_a_form_with_only_text_shows_no_inputs_even_with_exposed_fields() -> None:
    data = workflow(NODES, form=form(heading("only text")), exposed=[("i1", "value")])
    assert form_field_refs(data) == []
    assert _inputs(data) == []


EXPOSED = [("i1", "value")]


def test_a_form_root_that_is_no_container_shows_the_exposed_fields() -> None:
    layout = {"elements": {"root": {"type": "heading", "data": {"children": ["a"]}}}}
    assert _refs(_inputs(workflow(NODES, form=layout, exposed=EXPOSED))) == EXPOSED


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ({"elements": [], "rootElementId": "root"}, "form 'elements' is not an object"),
        (
            {"elements": {"root": {"type": "container", "data": {"children": [["x"], 5]}}}},
            "form element 'root': 'children' is not a list of element ids",
        ),
        ({"elements": {"f": {"type": "node-field", "data": 5}}}, "form element 'f': 'data'"),
        (
            {"elements": {"f": {"type": "node-field", "data": {"fieldIdentifier": []}}}},
            "form element 'f': 'fieldIdentifier' does not name a nodeId and fieldName",
        ),
    ],
)
def test_malformed_forms_are_workflow_errors_naming_the_element(
    layout: dict[str, object], message: str
) -> None:
    with pytest.raises(WorkflowError, match=re.escape(message)):
        WorkflowDefinition.from_dict(workflow(NODES, form=layout, exposed=EXPOSED), source="f.json")


def test_a_form_with_children_wins_over_exposed_fields() -> None:
    data = workflow(NODES, form=form(node_field("i2", "value")), exposed=[("i1", "value")])
    assert _refs(_inputs(data)) == [("i2", "value")]


def test_fields_pointing_nowhere_are_dropped_with_a_warning() -> None:
    layout = form(
        node_field("ghost", "value"),
        node_field("i1", "nope"),
        node_field("n", "notes"),
        node_field("i1", "value"),
    )
    data = workflow([*NODES, notes("n")], form=layout)
    with pytest.warns(WorkflowWarning) as record:
        inputs = _inputs(data)
    assert _refs(inputs) == [("i1", "value")]
    assert inputs[0].input_index == 0
    messages = " ".join(str(w.message) for w in record)
    assert "'ghost'" in messages and "'nope'" in messages and "'n'" in messages


def test_labels_node_names_and_descriptions() -> None:
    nodes = [
        node("a", "integer", value=field("value", 5, label="Width", description="px")),
        node("b", "integer", label="Height node", value=7),
        node("c", "img_blur", radius=1.0, blur_type="gaussian"),
    ]
    layout = form(node_field("a", "value"), node_field("b", "value"), node_field("c", "blur_type"))
    a, b, c = _inputs(workflow(nodes, form=layout))
    assert (a.label, a.node_name, a.description) == ("Width", "integer", "px")
    assert (b.label, b.node_name) == ("Value", "Height node")
    assert b.description == default_catalog().node("integer").inputs["value"].description
    assert c.label == "Blur Type"  # no schema title: the field name in words
    assert c.node_name == "img_blur"


def test_fields_are_the_catalog_classes_holding_the_saved_values() -> None:
    layout = form(node_field("i1", "value"), node_field("s", "value"), node_field("blur", "radius"))
    i1, s, radius = _inputs(workflow(NODES, form=layout))
    assert isinstance(i1.field, IvkIntegerField) and i1.field.value == 1
    assert isinstance(s.field, IvkStringField) and s.field.value == "hi"
    assert isinstance(radius.field, IvkFloatField) and radius.field.value == 2.5
    assert radius.field.ge == 0


def test_an_absent_value_shows_the_schema_default_and_null_shows_unset() -> None:
    nodes = [node("x", "img_blur", radius=ABSENT, image=None)]
    radius, image = _inputs(
        workflow(nodes, form=form(node_field("x", "radius"), node_field("x", "image")))
    )
    assert (
        radius.field.to_json_dict() == default_catalog().node("img_blur").inputs["radius"].default
    )
    assert image.field.to_json_dict() is None


def test_required_means_schema_required_and_not_connected() -> None:
    nodes = [*NODES, node("blur2", "img_blur", image=None)]
    edges = [edge("blur", "image", "blur2", "image")]
    layout = form(
        node_field("blur", "image"), node_field("blur2", "image"), node_field("i1", "value")
    )
    blur, blur2, i1 = _inputs(workflow(nodes, edges, form=layout))
    assert (blur.required, blur2.required, i1.required) == (True, False, False)


def test_a_saved_value_the_field_cannot_hold_leaves_it_unset_with_the_reason() -> None:
    nodes = [node("x", "img_blur", radius=-3.0)]
    (radius,) = _inputs(workflow(nodes, form=form(node_field("x", "radius"))))
    assert radius.field.to_json_dict() is None
    assert radius.saved_value_error is not None and "-3.0" in radius.saved_value_error


def test_each_discovery_makes_fresh_fields() -> None:
    definition = WorkflowDefinition.from_dict(workflow(NODES, form=form(node_field("i1", "value"))))
    first, second = discover_inputs(definition), discover_inputs(definition)
    first[0].field.value = 10  # type: ignore[attr-defined]
    assert second[0].field.value == 1  # type: ignore[attr-defined]


def test_a_field_holds_a_copy_of_the_saved_value_and_leaves_the_workflow_as_loaded() -> None:
    nodes = [node("c", "collect", collection=[{"image_name": "a.png"}])]
    definition = WorkflowDefinition.from_dict(
        workflow(nodes, form=form(node_field("c", "collection")))
    )
    (collection,) = discover_inputs(definition)
    collection.field.value[0]["image_name"] = "b.png"  # type: ignore[attr-defined]
    saved = definition.to_dict()["nodes"][0]["data"]["inputs"]["collection"]["value"]
    assert saved == [{"image_name": "a.png"}]
