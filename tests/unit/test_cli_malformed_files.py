"""Malformed workflow files that once ended in a traceback: ``ivkgen inputs`` and ``ivkgen gen``
say one line naming the file and the form element or input, and exit 2 (no server)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ivkgen.cli.main import main

from tests.conftest import REPO

SD15 = REPO / "data" / "workflows" / "sd15-text-to-image.json"
OPENAPI = REPO / "data" / "openapi" / "invokeai-6.14.2.json"
MODEL_LOADER = "main_model_loader:2pkAFEn3z5"


def sd15() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SD15.read_text(encoding="utf-8"))
    return data


def nest_form(data: dict[str, Any], depth: int) -> None:
    """Put the form's fields ``depth`` containers below its root."""
    elements = data["form"]["elements"]
    root = elements[data["form"]["rootElementId"]]
    fields, parent = root["data"]["children"], root
    for level in range(depth):
        container = {"id": f"box-{level}", "type": "container", "data": {"children": []}}
        parent["data"]["children"] = [container["id"]]
        elements[container["id"]] = parent = container
    parent["data"]["children"] = fields


def error_line(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    _, err = capsys.readouterr()
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return code, lines[0]


def command(name: str, path: Path, out: Path) -> list[str]:
    if name == "inputs":
        return ["inputs", str(path)]
    return ["gen", str(path), "-o", str(out), "--openapi", str(OPENAPI)]


def deep_form_file(tmp_path: Path, depth: int) -> Path:
    """The SD 1.5 workflow with its form nested ``depth`` containers deep."""
    data = sd15()
    nest_form(data, depth)
    path = tmp_path / "deep.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["inputs", "gen"])
def test_a_form_nested_a_thousand_containers_deep_is_one_line(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = deep_form_file(tmp_path, 1000)
    code, line = error_line(capsys, *command(name, path, tmp_path / "out"))
    assert code == 2
    assert line.startswith(f"ivkgen: error: {path}: form element 'box-100' is nested deeper")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["inputs", "gen"])
def test_a_form_a_hundred_containers_deep_still_loads(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = deep_form_file(tmp_path, 100)
    assert main(command(name, path, tmp_path / "out")) == 0
    out, _ = capsys.readouterr()
    if name == "inputs":
        assert "Total configurable inputs: 9\n" in out
    else:
        assert "positive_prompt: Annotated[" in (tmp_path / "out" / "deep.py").read_text()


def test_a_model_saved_without_its_hash_is_one_line_from_gen(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = sd15()
    [loader] = [n for n in data["nodes"] if n["id"] == MODEL_LOADER]
    model = {"key": "k-sd15", "name": "tiny-sd15", "base": "sd-1", "type": "main"}
    loader["data"]["inputs"]["model"]["value"] = model
    path = tmp_path / "no-hash.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    code, line = error_line(capsys, *command("gen", path, tmp_path / "out"))
    assert code == 2
    assert line.startswith(
        f"ivkgen: error: {path}: input 'Model' (node '{MODEL_LOADER}', field 'model'): its saved "
        "value is incomplete (IvkModelIdentifierField is missing hash)"
    )
    assert not (tmp_path / "out" / "no_hash.py").exists()
