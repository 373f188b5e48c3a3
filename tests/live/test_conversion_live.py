"""Fidelity: our conversion of a recorded GUI run is stored by the server as the GUI's graph was.

For each recorded queue item we convert its ``workflow``, enqueue the body (processor paused,
so nothing runs; items deleted afterwards), read back the stored ``session.graph`` and compare
it with the recorded one. Documented exceptions, each asserted:

* graph ``id``: a fresh uuid per conversion;
* the GUI's auto-add board: the GUI put its board id on ``"auto"`` board inputs; we pass that
  id as ``board=`` (ivkgen has no gallery state), after checking every such input got the same id;
* inputs that InvokeAI 6.14.2 added after the recording: the server fills in their schema
  default, which the recording (an older server) lacks.

Model keys and seeds need no exception: model identifiers pass through unchanged (the server
checks models only when running) and the recorded seeds are plain values of the workflow.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ivkgen.runtime._workflow.catalog import default_catalog
from ivkgen.runtime._workflow.convert import build_enqueue_body
from ivkgen.runtime._workflow.definition import WorkflowDefinition

from tests.conftest import SHARED
from tests.live._queue import discard, enqueue, item, paused

RECORDED = sorted((SHARED / "data" / "recorded-gui-runs").glob("*.queue-item.json"))


@pytest.fixture(scope="module")
def http(server_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server_url, timeout=60) as client:
        yield client


def test_the_recorded_runs_are_there(shared_dir: Path) -> None:
    names = {p.name for p in (shared_dir / "data" / "recorded-gui-runs").glob("*.json")}
    assert names == {p.name for p in RECORDED} and len(names) >= 3


def _auto_board(recorded: dict[str, Any]) -> str | None:
    """The board id the GUI substituted for ``"auto"`` (or empty) board inputs, if any."""
    graph_nodes = recorded["session"]["graph"]["nodes"]
    ids = set()
    for node in recorded["workflow"]["nodes"]:
        board = node["data"].get("inputs", {}).get("board")
        if board is None or board.get("value") not in ("auto", None, ""):
            continue
        stored = graph_nodes.get(node["id"], {}).get("board")
        if stored:
            ids.add(stored["board_id"])
    assert len(ids) <= 1, f"the GUI used several auto-add boards: {ids}"
    return ids.pop() if ids else None


def _edge_set(graph: dict[str, Any]) -> set[str]:
    return {json.dumps(edge, sort_keys=True) for edge in graph["edges"]}


def _differences(
    ours: dict[str, Any], recorded: dict[str, Any], workflow: dict[str, Any]
) -> list[str]:
    """Every difference between two stored graphs that is not a documented exception."""
    problems: list[str] = []
    ours_edges, their_edges = _edge_set(ours), _edge_set(recorded)
    problems += [f"edge only in ours: {e}" for e in sorted(ours_edges - their_edges)]
    problems += [f"edge only recorded: {e}" for e in sorted(their_edges - ours_edges)]
    if set(ours["nodes"]) != set(recorded["nodes"]):
        problems.append(f"node ids differ: {sorted(set(ours['nodes']) ^ set(recorded['nodes']))}")
    saved_inputs = {n["id"]: n["data"].get("inputs", {}) for n in workflow["nodes"]}
    catalog = default_catalog()
    for node_id in sorted(set(ours["nodes"]) & set(recorded["nodes"])):
        mine, theirs = ours["nodes"][node_id], recorded["nodes"][node_id]
        specs = catalog.node(mine["type"]).inputs
        for key in sorted(set(mine) | set(theirs)):
            if mine.get(key, "<absent>") == theirs.get(key, "<absent>"):
                continue
            added_later = (
                key not in theirs
                and key not in saved_inputs[node_id]
                and key in specs
                and specs[key].has_default
                and mine[key] == specs[key].default
            )
            if not added_later:
                problems.append(
                    f"node {node_id} ({mine['type']}) {key}: ours "
                    f"{json.dumps(mine.get(key, '<absent>'))} recorded "
                    f"{json.dumps(theirs.get(key, '<absent>'))}"
                )
    return problems


@pytest.mark.parametrize("path", RECORDED, ids=[p.name.split(".")[0] for p in RECORDED])
def test_converted_graph_matches_the_recorded_gui_graph(http: httpx.Client, path: Path) -> None:
    recorded = json.loads(path.read_text(encoding="utf-8"))
    definition = WorkflowDefinition.from_dict(recorded["workflow"], source=path.name)
    body = build_enqueue_body(definition.to_dict(), board=_auto_board(recorded), prepend=True)
    with paused(http):
        response = enqueue(http, body)
        assert response.status_code == 200, response.text
        item_ids = response.json()["item_ids"]
        try:
            assert len(item_ids) == 1
            stored = item(http, item_ids[0])["session"]["graph"]
        finally:
            discard(http, item_ids)
    theirs = recorded["session"]["graph"]
    assert stored["id"] == body["batch"]["graph"]["id"] != theirs["id"]
    assert uuid.UUID(stored["id"]).version == 4
    problems = _differences(stored, theirs, recorded["workflow"])
    assert not problems, "stored graph differs from the GUI's:\n" + "\n".join(problems)


def test_a_new_editor_export_is_stored_as_its_golden_graph(http: httpx.Client) -> None:
    """An export in the shape of InvokeAI 7.0's editor (``tests/webv2``), converted, is taken by
    a 6.14.2 server as its golden graph: the ``current_image`` view is not in the graph, but
    stays in the stored workflow."""
    path = Path(__file__).parents[1] / "webv2" / "text-to-image.json"
    definition = WorkflowDefinition.from_file(path)
    body = build_enqueue_body(definition.to_dict(), prepend=True)
    with paused(http):
        response = enqueue(http, body)
        assert response.status_code == 200, response.text
        item_ids = response.json()["item_ids"]
        try:
            stored = item(http, item_ids[0])
        finally:
            discard(http, item_ids)
    golden = json.loads(path.with_suffix(".graph.json").read_text(encoding="utf-8"))
    problems = _differences(stored["session"]["graph"], golden, definition.to_dict())
    assert not problems, "stored graph differs from the golden graph:\n" + "\n".join(problems)
    assert "preview" in [node["id"] for node in stored["workflow"]["nodes"]]
