"""Drift at run time on the real server: a module whose fields package came from another schema
warns before enqueueing and ``ivkgen check MODULE`` lists it; a current module does not."""

from __future__ import annotations

import importlib
import json
import shutil
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ivkgen.cli.main import main
from ivkgen.generator.package import generate_modules
from ivkgen.runtime import InvokeAIClient, SchemaDriftWarning

from tests.conftest import REPO

WORKFLOW = REPO / "data" / "workflows" / "sd15-text-to-image.json"
DRIFT = [
    "node noise:VuddLEG62H (noise): version 1.0.0 when generated, 1.1.0 on the server",
    "node denoise_latents:kd9Gf2leMe (denoise_latents), field scheduler: the server no longer "
    "accepts 'old_sampler'",
]


@pytest.fixture
def drifted(tmp_path: Path) -> Iterator[Path]:
    """A project whose ``drifted/`` module was generated from an older schema: its catalog has
    another noise version and a scheduler the server lacks."""
    shutil.copy(WORKFLOW, tmp_path / WORKFLOW.name)
    generate_modules([tmp_path / WORKFLOW.name], tmp_path / "drifted")
    catalog_file = tmp_path / "drifted" / "fields_6_14_2" / "catalog.json"
    catalog: dict[str, Any] = json.loads(catalog_file.read_text())
    catalog["openapi_sha256"] = "0" * 64
    nodes = {node["type"]: node for node in catalog["nodes"]}
    nodes["noise"]["version"] = "1.0.0"
    scheduler = next(i for i in nodes["denoise_latents"]["inputs"] if i["name"] == "scheduler")
    scheduler["choices"].append("old_sampler")
    catalog_file.write_text(json.dumps(catalog))
    sys.path.insert(0, str(tmp_path))
    try:
        yield tmp_path / "drifted"
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "drifted" or m.startswith("drifted.")]:
            del sys.modules[name]


def test_a_drifted_module_warns_before_it_runs(
    drifted: Path, server_url: str, tiny_models: dict[str, dict[str, Any]]
) -> None:
    module = importlib.import_module("drifted.sd15_text_to_image")
    inputs = module.Sd15TextToImageInputs(model="tiny-sd15", width=64, height=64, steps=2)
    with InvokeAIClient.from_url(server_url) as client:
        with pytest.warns(SchemaDriftWarning) as caught:
            outputs = module.Sd15TextToImage().run(client, inputs)
        lines = [line.strip() for line in str(caught[0].message).splitlines()]
        assert lines[1:-1] == DRIFT
        for image in outputs.decode:
            client.image_repo.delete_image(image.image_name)


def test_a_current_module_runs_without_a_drift_warning(server_url: str) -> None:
    from generated.sd15_text_to_image import Sd15TextToImage, Sd15TextToImageInputs

    inputs = Sd15TextToImageInputs(model="tiny-sd15", width=64, height=64, steps=2)
    with InvokeAIClient.from_url(server_url) as client, warnings.catch_warnings():
        warnings.simplefilter("error", SchemaDriftWarning)
        with Sd15TextToImage().handle(inputs, client) as handle:
            assert handle.validate_inputs() == {}


def test_check_lists_the_drift_until_the_module_is_regenerated(
    drifted: Path, server_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    module = drifted / "sd15_text_to_image.py"
    main(["check", str(module), "--server", server_url])
    out = capsys.readouterr().out
    where = f"error: {module} was generated for InvokeAI 6.14.2, the server differs: "
    assert [line for line in out.splitlines() if line.startswith(where)] == [
        f"{where}{item}; regenerate it" for item in DRIFT
    ]
    assert main(["regen", str(drifted), "--server", server_url]) == 0
    main(["check", str(module), "--server", server_url])
    assert "the server differs" not in capsys.readouterr().out
