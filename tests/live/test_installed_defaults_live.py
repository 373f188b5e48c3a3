"""The default workflows shipped inside the installed InvokeAI package (the cached server venv,
no server): every input resolves and validates, every loadable one generates a mypy-clean
module."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ivkgen.generator import GeneratorError
from ivkgen.generator.package import generate_modules
from ivkgen.runtime._values import IvkValueField
from ivkgen.runtime._workflow.catalog import default_catalog

from tests.conftest import REPO
from tests.harness.install import default_workflows_dir, ensure_server_venv


def _default_workflow_inputs() -> Iterator[tuple[str, str, str, dict[str, Any], bool]]:
    """(workflow file, node type, field name, saved input, connected) for every node input."""
    ensure_server_venv()
    folder = default_workflows_dir()
    files = sorted(folder.glob("*.json"))
    assert len(files) >= 26, folder
    for path in files:
        workflow = json.loads(path.read_text(encoding="utf-8"))
        connected = {
            (edge["target"], edge["targetHandle"])
            for edge in workflow["edges"]
            if edge["type"] == "default"
        }
        for node in workflow["nodes"]:
            if node["type"] != "invocation":
                continue
            data = node["data"]
            for name, saved in data["inputs"].items():
                yield path.name, data["type"], name, saved, (node["id"], name) in connected


# Shipped default workflows that still hold image-processor nodes which InvokeAI 6.14.2 no longer
# defines (its OpenAPI has no schema for them; the GUI shows them as unknown nodes).
RETIRED_NODE_TYPES = {"canny_image_processor", "midas_depth_image_processor"}


def test_every_default_workflow_input_resolves_and_validates() -> None:
    catalog = default_catalog()
    checked = 0
    retired = set()
    dropped = set()
    for workflow, node_type, name, saved, connected in _default_workflow_inputs():
        if node_type not in catalog.nodes:
            retired.add(node_type)
            continue
        spec = catalog.node(node_type).inputs.get(name)
        if spec is None:  # an input the node no longer has: the GUI drops it
            assert "value" not in saved, (workflow, node_type, name)
            dropped.add((node_type, name))
            continue
        value = None if connected else saved.get("value")
        has_value = "value" in saved and not connected
        field = catalog.make_field(spec, value) if has_value else catalog.make_field(spec)
        assert type(field).__name__ in (spec.ivk_class, "IvkCollectionField"), (workflow, name)
        if isinstance(value, str) and not isinstance(field, IvkValueField):
            # the GUI saves a board as "auto"/"none" or an id: a resource's .value
            assert field.value == value, (workflow, node_type, name)  # type: ignore[attr-defined]
        elif value is not None:
            assert field.to_json_dict() == value, (workflow, node_type, name)
        checked += 1
    assert retired == RETIRED_NODE_TYPES
    assert dropped == {("flux_denoise", "board"), ("flux_denoise", "metadata")}
    assert checked > 300


def test_every_loadable_default_workflow_generates_a_mypy_clean_module(tmp_path: Path) -> None:
    from tests.harness.install import default_workflows_dir, ensure_server_venv

    ensure_server_venv()
    written, refused = [], {}
    for source in sorted(default_workflows_dir().glob("*.json")):
        try:
            written.append(generate_modules([source], tmp_path)[0])
        except GeneratorError as exc:
            refused[source.stem] = str(exc)
    assert len(written) + len(refused) == 26
    assert sorted(refused) == [
        "ESRGAN Upscaling with Canny ControlNet",
        "Face Detailer with IP-Adapter & Canny (See Note in Details)",
        "Multi ControlNet (Canny & Depth)",
    ]
    assert all("processor" in message for message in refused.values())
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", *map(str, written)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout
