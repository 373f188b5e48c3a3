"""A queue item pieced together from its socket events gives the same outputs and created
images as the item read from the server, and only when every event of it was heard: the real
items recorded from GUI runs, replayed as the events InvokeAI emits for them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ivkgen.runtime._events.heard import HeardItems
from ivkgen.runtime._events.messages import Event, parse_event
from ivkgen.runtime._jobs.outputs import collect_files, created_names, graph_output_nodes
from ivkgen.runtime._server.dto import SessionQueueItem
from ivkgen.runtime._workflow.catalog import default_catalog

from tests.conftest import SHARED

CATALOG = default_catalog()
RECORDED = sorted((SHARED / "data" / "recorded-gui-runs").glob("*.queue-item.json"))


def _status(item: dict[str, Any], status: str) -> Event:
    keys = ("queue_id", "item_id", "batch_id", "origin", "destination", "session_id")
    times = ("created_at", "updated_at", "started_at", "completed_at")
    return parse_event(
        "queue_item_status_changed",
        {**{k: item[k] for k in keys + times}, "status": status, "user_id": "system"},
    )


def _node_events(item: dict[str, Any]) -> list[Event]:
    """The ``invocation_complete`` of every node the item ran, in the order it ran them."""
    session = item["session"]
    nodes = session["execution_graph"]["nodes"]
    return [
        parse_event(
            "invocation_complete",
            {
                "queue_id": item["queue_id"],
                "item_id": item["item_id"],
                "batch_id": item["batch_id"],
                "session_id": item["session_id"],
                "invocation": {"id": prepared, "type": nodes[prepared]["type"]},
                "invocation_source_id": session["prepared_source_mapping"][prepared],
                "result": session["results"][prepared],
            },
        )
        for prepared in session["results"]  # in the order they ran
    ]


def _events(item: dict[str, Any]) -> list[Event]:
    return [_status(item, "in_progress"), *_node_events(item), _status(item, "completed")]


def _replayed(events: list[Event], heard: HeardItems | None = None) -> SessionQueueItem | None:
    heard = heard or HeardItems()
    found = [item for event in events if (item := heard.take(event)) is not None]
    assert len(found) <= 1
    return found[0] if found else None


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.name)
def test_an_item_heard_whole_has_the_outputs_of_the_item_read(path: Path) -> None:
    recorded = json.loads(path.read_text())
    read = SessionQueueItem.model_validate(recorded)
    heard = _replayed(_events(recorded))
    assert heard is not None
    assert heard.status == "completed"
    assert (heard.item_id, heard.session_id) == (read.item_id, read.session_id)
    assert heard.completed_at == read.completed_at
    nodes = graph_output_nodes(read, CATALOG)
    assert nodes
    heard.session["graph"] = read.session["graph"]  # the boards of the nodes the run sent
    assert collect_files(read, nodes)
    assert collect_files(heard, nodes) == collect_files(read, nodes)
    assert created_names(heard, CATALOG, "image") == created_names(read, CATALOG, "image")


def test_an_item_not_heard_from_its_start_or_across_a_dropped_connection_is_not_pieced() -> None:
    recorded = json.loads(RECORDED[0].read_text())
    events = _events(recorded)
    assert _replayed(events[1:]) is None  # its in_progress was missed
    dropped = HeardItems()
    _replayed(events[:3], dropped)
    dropped.forget()
    assert _replayed(events[3:], dropped) is None


def test_an_item_that_failed_or_was_canceled_is_read_not_pieced() -> None:
    recorded = json.loads(RECORDED[0].read_text())
    events = _events(recorded)
    for status in ("failed", "canceled"):
        assert _replayed([*events[:-1], _status(recorded, status)]) is None


def test_a_parent_item_waiting_on_a_called_workflow_keeps_what_it_ran_before() -> None:
    recorded = json.loads(RECORDED[0].read_text())
    first, *nodes, last = _events(recorded)
    middle = len(nodes) // 2
    waiting = [_status(recorded, "waiting"), _status(recorded, "pending"), first]
    heard = _replayed([first, *nodes[:middle], *waiting, *nodes[middle:], last])
    assert heard is not None
    assert heard.session["results"] == recorded["session"]["results"]
