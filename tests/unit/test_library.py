"""Library workflows by name or id (no server: a mock transport), and their header round trip."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from ivkgen.generator import GeneratorError
from ivkgen.generator.library import find_records, generate_from_library
from ivkgen.generator.module import LibraryOrigin
from ivkgen.generator.package import generate_modules
from ivkgen.generator.regen import read_module, rerender
from ivkgen.runtime import InvokeAIClient

from tests.conftest import REPO

ENTRIES = [
    ("w1", "Fox", "user"),
    ("w2", "Twin", "user"),
    ("w3", "Twin", "project"),
    ("default_1", "Text to Image - SD1.5", "default"),
]


def _client() -> InvokeAIClient:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/workflows/"
        items: list[dict[str, Any]] = [
            {"workflow_id": i, "name": n, "category": c, "created_at": "t", "updated_at": "t"}
            for i, n, c in ENTRIES
        ]
        return httpx.Response(
            200, json={"page": 0, "pages": 1, "per_page": 4, "total": 4, "items": items}
        )

    return InvokeAIClient.from_url("http://h:9090", transport=httpx.MockTransport(handler))


def test_workflows_are_found_by_id_or_exact_name() -> None:
    with _client() as client:
        assert find_records(client, ["Fox", "w3", "Text to Image - SD1.5"], False) == [
            "w1",
            "w3",
            "default_1",
        ]
        assert find_records(client, [], True) == ["w1", "w2", "w3"]  # no default workflows
        with pytest.raises(
            GeneratorError, match=r"2 library workflows are named 'Twin' \(w2, w3\)"
        ):
            find_records(client, ["Twin"], False)
        with pytest.raises(GeneratorError, match=r"no workflow named or with id 'fox' .*'Fox'"):
            find_records(client, ["fox"], False)


def test_the_library_line_survives_regeneration(tmp_path: Path) -> None:
    source = tmp_path / "fox.json"
    shutil.copy(REPO / "data" / "workflows" / "sd15-text-to-image.json", source)
    origin = LibraryOrigin("w1", "2026-12-01 22:30:01.123")
    [path] = generate_modules([source], tmp_path / "out", None, None, [origin])
    assert "#   library workflow w1 updated_at 2026-12-01 22:30:01.123\n" in path.read_text()
    module = read_module(path)
    assert module is not None and module.library == origin
    assert rerender(module, {}).source == path.read_text()


def test_a_library_workflow_that_fails_to_generate_leaves_nothing(tmp_path: Path) -> None:
    data = json.loads((REPO / "data" / "workflows" / "sd15-text-to-image.json").read_text())
    data["nodes"][0]["data"]["type"] = "no_such_node"

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/workflows/i/w1"
        record = {"workflow_id": "w1", "name": "Fox", "created_at": "t", "updated_at": "t"}
        return httpx.Response(200, json={**record, "workflow": data})

    out = tmp_path / "generated"
    transport = httpx.MockTransport(handler)
    with (
        InvokeAIClient.from_url("http://h:9090", transport=transport) as client,
        pytest.raises(GeneratorError, match="no_such_node"),
    ):
        generate_from_library(client, ["w1"], out, None, "http://h:9090")
    assert not out.exists()
