"""Ivk field values, as ``to_json_dict()`` gives them, are accepted and run by a real server."""

from __future__ import annotations

import time
from typing import Any

import httpx
from ivkgen.bundled import IvkColorField
from ivkgen.runtime._values import IvkIntegerField, IvkStringField
from ivkgen.runtime._workflow.catalog import default_catalog

TERMINAL = {"completed", "failed", "canceled"}


def _run(server_url: str, nodes: dict[str, Any], edges: list[dict[str, Any]]) -> dict[str, Any]:
    body = {
        "batch": {"graph": {"nodes": nodes, "edges": edges}, "runs": 1, "origin": "ivkgen-tests"},
        "prepend": False,
    }
    with httpx.Client(base_url=server_url, timeout=30) as client:
        reply = client.post("/api/v1/queue/default/enqueue_batch", json=body)
        assert reply.status_code == 200, reply.text
        item_id = reply.json()["item_ids"][0]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            item: dict[str, Any] = client.get(f"/api/v1/queue/default/i/{item_id}").json()
            if item["status"] in TERMINAL:
                return item
            time.sleep(0.2)
    raise AssertionError(f"queue item {item_id} did not finish")


def _node(node_id: str, node_type: str, **inputs: Any) -> dict[str, Any]:
    return {"id": node_id, "type": node_type, "use_cache": False, "is_intermediate": True, **inputs}


def test_field_json_runs_on_the_server(server_url: str) -> None:
    catalog = default_catalog()
    color = IvkColorField()
    color.set_hex("#FF8000")
    width = catalog.input_field("img_resize", "width", "48")
    assert isinstance(width, IvkIntegerField)
    text = catalog.input_field("string", "value", "hello")
    assert isinstance(text, IvkStringField)
    mode = catalog.input_field("img_resize", "resample_mode", "lanczos")
    nodes = {
        "blank": _node("blank", "blank_image", width=64, height=64, color=color.to_json_dict()),
        "resize": _node(
            "resize",
            "img_resize",
            width=width.to_json_dict(),
            height=IvkIntegerField(value=32, gt=0).to_json_dict(),
            resample_mode=mode.to_json_dict(),
        ),
        "text": _node("text", "string", value=text.to_json_dict()),
    }
    edges = [
        {
            "source": {"node_id": "blank", "field": "image"},
            "destination": {"node_id": "resize", "field": "image"},
        }
    ]
    item = _run(server_url, nodes, edges)
    assert item["status"] == "completed", item.get("error_traceback")
    session = item["session"]
    results = {session["prepared_source_mapping"][k]: v for k, v in session["results"].items()}
    assert (results["resize"]["width"], results["resize"]["height"]) == (48, 32)
    assert results["text"]["value"] == "hello"
    stored = session["graph"]["nodes"]["blank"]["color"]
    assert stored == {"r": 255, "g": 128, "b": 0, "a": 255}
