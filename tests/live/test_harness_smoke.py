"""The test server itself: a model-free graph runs and its image downloads as a PNG."""

from __future__ import annotations

import io
import time
from typing import Any

import httpx
from PIL import Image

TERMINAL = {"completed", "failed", "canceled"}


def wait_for_item(http: httpx.Client, item_id: int, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item: dict[str, Any] = http.get(f"/api/v1/queue/default/i/{item_id}").json()
        if item["status"] in TERMINAL:
            return item
        time.sleep(0.2)
    raise AssertionError(f"queue item {item_id} did not finish in {timeout} s")


def test_server_reports_its_version(server_url: str) -> None:
    version = httpx.get(f"{server_url}/api/v1/app/version").json()
    assert version["version"] == "6.14.2"


def test_tiny_models_are_installed(tiny_models: dict[str, dict[str, Any]]) -> None:
    kinds = {name: (m["base"], m["type"]) for name, m in tiny_models.items()}
    assert kinds == {
        "tiny-sd15": ("sd-1", "main"),
        "tiny-sdxl": ("sdxl", "main"),
        "tiny-vae": ("sd-1", "vae"),
    }


def test_model_free_graph_completes_and_its_png_downloads(server_url: str) -> None:
    graph = {
        "id": "smoke",
        "nodes": {
            "blank": {
                "id": "blank",
                "type": "blank_image",
                "width": 64,
                "height": 48,
                "color": {"r": 255, "g": 0, "b": 0, "a": 255},
                "is_intermediate": True,
                "use_cache": False,
            },
            "blur": {"id": "blur", "type": "img_blur", "radius": 2.0, "is_intermediate": True},
            "save": {
                "id": "save",
                "type": "save_image",
                "is_intermediate": False,
                "use_cache": False,
            },
        },
        "edges": [
            {
                "source": {"node_id": "blank", "field": "image"},
                "destination": {"node_id": "blur", "field": "image"},
            },
            {
                "source": {"node_id": "blur", "field": "image"},
                "destination": {"node_id": "save", "field": "image"},
            },
        ],
    }
    body = {"batch": {"graph": graph, "runs": 1, "origin": "ivkgen-tests"}, "prepend": False}
    with httpx.Client(base_url=server_url, timeout=30) as http:
        enqueued = (
            http.post("/api/v1/queue/default/enqueue_batch", json=body).raise_for_status().json()
        )
        item = wait_for_item(http, enqueued["item_ids"][0])
        assert item["status"] == "completed", item.get("error_message")
        session = item["session"]
        (prepared,) = session["source_prepared_mapping"]["save"]
        name = session["results"][prepared]["image"]["image_name"]
        png = http.get(f"/api/v1/images/i/{name}/full")
        assert png.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(png.content)).size == (64, 48)
        http.delete(f"/api/v1/images/i/{name}").raise_for_status()
