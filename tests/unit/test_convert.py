"""Workflow -> graph, batch data and enqueue body, rule by rule, as the GUI builds them."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ivkgen.runtime._errors import WorkflowError
from ivkgen.runtime._workflow.batches import build_batch_data
from ivkgen.runtime._workflow.convert import (
    Conversion,
    board_value,
    build_enqueue_body,
    build_graph,
)
from ivkgen.runtime._workflow.definition import WorkflowDefinition

from tests.unit._workflows import (
    ABSENT,
    collapsed,
    connector,
    edge,
    field,
    form,
    node,
    node_field,
    notes,
    workflow,
)


def _graph(
    nodes: list[dict[str, Any]],
    edges: tuple[dict[str, Any], ...] | list[dict[str, Any]] = (),
    **kw: Any,
) -> dict[str, Any]:
    data = WorkflowDefinition.from_dict(workflow(nodes, edges, version="4.0.0")).to_dict()
    return build_graph(data, **kw)


def _edge(source: str, out: str, target: str, into: str) -> dict[str, Any]:
    return {
        "source": {"node_id": source, "field": out},
        "destination": {"node_id": target, "field": into},
    }


def test_a_node_carries_type_id_values_use_cache_and_is_intermediate() -> None:
    graph = _graph([node("a", "add", a=1, b=2, is_intermediate=False, use_cache=False)])
    assert graph["nodes"] == {
        "a": {
            "type": "add",
            "id": "a",
            "a": 1,
            "b": 2,
            "use_cache": False,
            "is_intermediate": False,
        }
    }
    assert graph["edges"] == []


def test_null_is_sent_and_absent_is_omitted() -> None:
    graph = _graph([node("a", "add", a=None, b=ABSENT)])
    assert "a" in graph["nodes"]["a"] and graph["nodes"]["a"]["a"] is None
    assert "b" not in graph["nodes"]["a"]


def test_only_executable_invocations_become_nodes() -> None:
    nodes = [
        node("a", "integer", value=1),
        notes("n"),
        connector("c"),
        node("batch", "integer_batch", integers=[1, 2], batch_group_id="None"),
        node(
            "gen", "integer_generator", generator={"type": "integer_generator_arithmetic_sequence"}
        ),
    ]
    assert list(_graph(nodes)["nodes"]) == ["a"]


def test_inputs_the_node_type_lacks_are_dropped_except_on_core_metadata() -> None:
    graph = _graph(
        [
            node("a", "add", a=1, bogus=5),
            node("m", "core_metadata", width=64, my_extra="kept", unset_extra=ABSENT),
        ]
    )
    assert "bogus" not in graph["nodes"]["a"]
    assert graph["nodes"]["m"]["my_extra"] == "kept"
    assert "unset_extra" not in graph["nodes"]["m"]


@pytest.mark.parametrize(
    ("value", "board", "expected"),
    [
        ("auto", None, ABSENT),
        (None, None, ABSENT),
        ("", None, ABSENT),
        ("auto", "b1", {"board_id": "b1"}),
        (None, "b1", {"board_id": "b1"}),
        ("none", "b1", ABSENT),
        ({"board_id": "none"}, "b1", ABSENT),
        ({"board_id": "auto"}, "b1", {"board_id": "b1"}),
        ({"board_id": "mine"}, "b1", {"board_id": "mine"}),
    ],
)
def test_board_inputs(value: Any, board: str | None, expected: Any) -> None:
    graph = _graph([node("x", "img_blur", board=value, radius=1.0)], board=board)
    assert graph["nodes"]["x"].get("board", ABSENT) == expected
    assert board_value(value, board) == (None if expected is ABSENT else expected)


def test_an_absent_board_is_the_auto_board_as_in_the_gui() -> None:
    graph = _graph([node("x", "img_blur", board=ABSENT)], board="b1")
    assert graph["nodes"]["x"]["board"] == {"board_id": "b1"}
    assert "board" not in _graph([node("x", "img_blur", board=ABSENT)])["nodes"]["x"]


def test_connected_inputs_lose_their_values() -> None:
    nodes = [node("a", "integer", value=3), node("b", "add", a=100, b=2)]
    graph = _graph(nodes, [edge("a", "value", "b", "a")])
    assert graph["edges"] == [_edge("a", "value", "b", "a")]
    assert "a" not in graph["nodes"]["b"] and graph["nodes"]["b"]["b"] == 2


def test_collapsed_edges_are_ignored() -> None:
    nodes = [node("a", "integer", value=3), node("b", "add", a=1)]
    graph = _graph(nodes, [collapsed("a", "b")])
    assert graph["edges"] == [] and graph["nodes"]["b"]["a"] == 1


def test_duplicate_edges_are_sent_once() -> None:
    nodes = [node("a", "integer", value=3), node("b", "add")]
    graph = _graph(nodes, [edge("a", "value", "b", "a"), edge("a", "value", "b", "a")])
    assert graph["edges"] == [_edge("a", "value", "b", "a")]


def test_connector_chains_are_resolved_to_the_invocation_output() -> None:
    nodes = [node("a", "integer", value=3), connector("c1"), connector("c2"), node("b", "add", a=9)]
    edges = [
        edge("a", "value", "c1", "in"),
        edge("c1", "out", "c2", "in"),
        edge("c2", "out", "b", "a"),
    ]
    graph = _graph(nodes, edges)
    assert graph["edges"] == [_edge("a", "value", "b", "a")]
    assert list(graph["nodes"]) == ["a", "b"] and "a" not in graph["nodes"]["b"]


def test_a_dangling_connector_gives_no_edge_and_keeps_the_value() -> None:
    nodes = [connector("c"), node("b", "add", a=9)]
    graph = _graph(nodes, [edge("c", "out", "b", "a")])
    assert graph["edges"] == [] and graph["nodes"]["b"]["a"] == 9


def test_a_connector_cycle_gives_no_edge() -> None:
    nodes = [connector("c1"), connector("c2"), node("b", "add", a=9)]
    edges = [
        edge("c1", "out", "c2", "in"),
        edge("c2", "out", "c1", "in"),
        edge("c2", "out", "b", "a"),
    ]
    assert _graph(nodes, edges)["edges"] == []


def test_fields_fed_by_a_batch_node_keep_their_values() -> None:
    nodes = [node("batch", "integer_batch", integers=[1, 2]), node("b", "add", a=5)]
    graph = _graph(nodes, [edge("batch", "value", "b", "a")])
    assert graph["edges"] == [] and graph["nodes"]["b"]["a"] == 5


def test_the_graph_id_is_a_fresh_uuid4() -> None:
    nodes = [node("a", "integer", value=1)]
    first, second = _graph(nodes)["id"], _graph(nodes)["id"]
    assert first != second and uuid.UUID(first).version == 4
    assert _graph(nodes, graph_id="fixed")["id"] == "fixed"


def _data(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return build_batch_data(WorkflowDefinition.from_dict(workflow(nodes, edges)).to_dict())


def _datum(target: str, field_name: str, items: list[Any]) -> dict[str, Any]:
    return {"node_path": target, "field_name": field_name, "items": items}


TARGETS = [node("t1", "add"), node("t2", "add"), node("s", "string")]


def test_no_batch_nodes_no_data() -> None:
    assert _data(TARGETS, []) == []


def test_batch_nodes_in_group_none_each_get_their_own_list() -> None:
    nodes = [
        *TARGETS,
        node("x", "integer_batch", integers=[1, 2], batch_group_id="None"),
        node("y", "integer_batch", integers=[7, 8, 9], batch_group_id="None"),
    ]
    edges = [
        edge("x", "value", "t1", "a"),
        edge("x", "value", "t2", "a"),
        edge("y", "value", "t1", "b"),
    ]
    assert _data(nodes, edges) == [
        [_datum("t1", "a", [1, 2]), _datum("t2", "a", [1, 2])],
        [_datum("t1", "b", [7, 8, 9])],
    ]


def test_batch_nodes_of_one_group_are_zipped_and_groups_are_separate_lists() -> None:
    nodes = [
        *TARGETS,
        node("x", "integer_batch", integers=[1, 2], batch_group_id="Group 1"),
        node("y", "string_batch", strings=["p", "q"], batch_group_id="Group 1"),
        node("z", "integer_batch", integers=[5], batch_group_id="Group 2"),
    ]
    edges = [
        edge("x", "value", "t1", "a"),
        edge("y", "value", "s", "value"),
        edge("z", "value", "t2", "b"),
    ]
    assert _data(nodes, edges) == [
        [_datum("t1", "a", [1, 2]), _datum("s", "value", ["p", "q"])],
        [_datum("t2", "b", [5])],
    ]


def test_image_batch_feeds_from_its_image_output() -> None:
    images = [{"image_name": "a.png"}, {"image_name": "b.png"}]
    nodes = [
        node("blur", "img_blur"),
        node("ib", "image_batch", images=images, batch_group_id="None"),
    ]
    assert _data(nodes, [edge("ib", "image", "blur", "image")]) == [
        [_datum("blur", "image", images)]
    ]


def test_an_unconnected_batch_node_adds_no_data() -> None:
    assert _data([node("x", "integer_batch", integers=[1], batch_group_id="None")], []) == []


def test_a_generator_behind_a_connector_supplies_the_batch_items() -> None:
    generator = {
        "type": "integer_generator_arithmetic_sequence",
        "start": 10,
        "step": 5,
        "count": 3,
    }
    nodes = [
        *TARGETS,
        node("g", "integer_generator", generator=generator),
        connector("c"),
        node("x", "integer_batch", integers=[], batch_group_id="None"),
    ]
    edges = [
        edge("g", "integers", "c", "in"),
        edge("c", "out", "x", "integers"),
        edge("x", "value", "t1", "a"),
    ]
    assert _data(nodes, edges) == [[_datum("t1", "a", [10, 15, 20])]]


def test_a_generator_that_needs_the_server_is_a_clear_error() -> None:
    generator = {"type": "string_generator_dynamic_prompts_combinatorial", "input": "{a|b}"}
    nodes = [
        *TARGETS,
        node("g", "string_generator", generator=generator),
        node("x", "string_batch", strings=[], batch_group_id="None"),
    ]
    edges = [edge("g", "strings", "x", "strings"), edge("x", "value", "s", "value")]
    with pytest.raises(WorkflowError, match=r"'g'.*cannot be resolved offline") as info:
        _data(nodes, edges)
    assert (info.value.node_id, info.value.field_name) == ("g", "generator")


def test_the_enqueue_body_has_the_guis_shape() -> None:
    data = workflow(
        [node("a", "integer", value=1), notes("n")],
        form=form(node_field("a", "value")),
        exposed=[("a", "value")],
    )
    data["id"] = "library-id"
    data["is_published"] = True
    data["nodes"][0]["selected"] = True
    body = build_enqueue_body(WorkflowDefinition.from_dict(data).to_dict(), runs=3, prepend=True)
    assert set(body) == {"batch", "prepend"} and body["prepend"] is True
    batch = body["batch"]
    assert set(batch) == {"graph", "workflow", "runs", "origin", "destination", "data"}
    assert (batch["runs"], batch["origin"], batch["destination"]) == (3, "workflows", "gallery")
    assert batch["data"] == [] and list(batch["graph"]["nodes"]) == ["a"]
    sent = batch["workflow"]
    assert "id" not in sent and "is_published" not in sent
    assert sent["form"] == data["form"] and sent["exposedFields"] == data["exposedFields"]
    assert sent["nodes"][0] == {k: data["nodes"][0][k] for k in ("id", "type", "data", "position")}
    assert len(sent["nodes"]) == 2


def test_runs_must_be_positive() -> None:
    with pytest.raises(ValueError, match="runs"):
        build_enqueue_body(workflow([node("a", "integer", value=1)]), runs=0)


# Property tests: random valid workflows built from model-free node types.
_TYPES = {"integer": ["value"], "add": ["a", "b"], "string": ["value"]}
_OUTPUTS = {"integer": "value", "add": "value", "string": "value"}


@st.composite
def _workflows(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(1, 6))
    nodes: list[dict[str, Any]] = []
    for index in range(count):
        kind = draw(st.sampled_from(["integer", "add", "string", "connector", "notes"]))
        node_id = f"n{index}"
        if kind == "connector":
            nodes.append(connector(node_id))
        elif kind == "notes":
            nodes.append(notes(node_id))
        else:
            values = {
                name: (
                    draw(st.sampled_from([ABSENT, None, 1, 2]))
                    if kind != "string"
                    else draw(st.sampled_from([ABSENT, None, "x"]))
                )
                for name in _TYPES[kind]
            }
            nodes.append(
                node(
                    node_id,
                    kind,
                    is_intermediate=draw(st.booleans()),
                    use_cache=draw(st.booleans()),
                    **{k: field(k, v) for k, v in values.items()},
                )
            )
    edges = []
    for _ in range(draw(st.integers(0, 8))):
        source, target = draw(st.sampled_from(nodes)), draw(st.sampled_from(nodes))
        if source["type"] == "notes" or target["type"] == "notes":
            edges.append(collapsed(source["id"], target["id"]))
            continue
        out = "out" if source["type"] == "connector" else _OUTPUTS[source["data"]["type"]]
        if target["type"] == "connector":
            into = "in"
        else:
            into = draw(st.sampled_from(_TYPES[target["data"]["type"]]))
        edges.append(edge(source["id"], out, target["id"], into))
    return workflow(nodes, edges, version="4.0.0")


@settings(max_examples=150, deadline=None)
@given(_workflows())
def test_random_workflows_convert_and_never_send_a_connected_input(data: dict[str, Any]) -> None:
    body = build_enqueue_body(WorkflowDefinition.from_dict(data).to_dict())
    graph = body["batch"]["graph"]
    invocations = {n["id"] for n in data["nodes"] if n["type"] == "invocation"}
    assert set(graph["nodes"]) == invocations
    for graph_edge in graph["edges"]:
        assert graph_edge["source"]["node_id"] in graph["nodes"]
        destination = graph_edge["destination"]
        assert destination["field"] not in graph["nodes"][destination["node_id"]]
    keys = [str(e) for e in graph["edges"]]
    assert len(keys) == len(set(keys))


def test_a_conversion_applies_changes_to_its_bodies_only() -> None:
    data = workflow(
        [node("a", "integer", value=1), node("b", "integer", value=2), node("s", "add", a=0, b=0)],
        [edge("a", "value", "s", "a")],
    )
    conversion = Conversion(WorkflowDefinition.from_dict(data).to_dict())
    changed = conversion.enqueue_body({("a", "value"): 5, ("b", "value"): None, ("s", "a"): 9})
    graph = changed["batch"]["graph"]["nodes"]
    assert (graph["a"]["value"], "value" in graph["b"], "a" in graph["s"]) == (5, False, False)
    inputs = {n["id"]: n["data"]["inputs"] for n in changed["batch"]["workflow"]["nodes"]}
    assert inputs["a"]["value"]["value"] == 5 and "value" not in inputs["b"]["value"]
    assert inputs["s"]["a"]["value"] == 9
    plain = conversion.enqueue_body()
    assert (plain["batch"]["graph"]["nodes"]["a"]["value"], plain["batch"]["data"]) == (1, [])
    assert plain["batch"]["workflow"]["nodes"] == data["nodes"]


def test_a_changed_batch_node_gives_new_batch_data() -> None:
    data = workflow(
        [node("x", "string_batch", strings=["a"]), node("s", "string")],
        [edge("x", "value", "s", "value")],
    )
    conversion = Conversion(WorkflowDefinition.from_dict(data).to_dict())
    items = conversion.enqueue_body({("x", "strings"): ["b", "c"]})["batch"]["data"][0][0]["items"]
    assert items == ["b", "c"]
    assert conversion.enqueue_body()["batch"]["data"][0][0]["items"] == ["a"]
