"""The shared GUI exports, recorded runs and older schemas in ``../shared/data`` (no server):
golden modules of the shared workflows, how one reads, a checkout reaching the data through a
link, the field classes of older InvokeAI versions, the outputs of a recorded GUI run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ivkgen.generator.fields import generate_fields
from ivkgen.generator.module import render_module
from ivkgen.generator.openapi import load_file
from ivkgen.generator.package import generate_modules
from ivkgen.runtime._jobs.outputs import collect_outputs, created_names, output_nodes
from ivkgen.runtime._server.dto import SessionQueueItem
from ivkgen.runtime._workflow.catalog import Catalog, default_catalog

CATALOG = default_catalog()


def test_golden_modules_of_the_shared_workflows_are_current(shared_dir: Path) -> None:
    from tests.golden import render_goldens

    modules = render_goldens(shared_dir / "data" / "workflows")
    assert len(modules) == 3
    for module in modules:
        assert (
            module.path.read_text(encoding="utf-8") == module.source
        ), f"{module.path} is stale: run `make regen`"


def test_sdxl_flux_refine_reads_naturally(
    shared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = shared_dir / "data" / "workflows" / "sdxl-flux-refine.json"
    generate_modules([source], tmp_path / "flows")
    monkeypatch.syspath_prepend(str(tmp_path))
    from flows.sdxl_flux_refine import (  # type: ignore[import-not-found]
        SdxlFluxRefine,
        SdxlFluxRefineInputs,
    )

    inputs = SdxlFluxRefineInputs(
        positive_prompt="a lighthouse", negative_prompt="", output_width=1024,
        sdxl_model="any", flux_model="f", t5_encoder_model="t", clip_embed_model="c",
        vae_model="v", model="m", flux_model_2="f2",
    )  # fmt: skip
    assert inputs.output_width == 1024
    assert list(SdxlFluxRefineInputs.model_fields)[:4] == [
        "positive_prompt",
        "negative_prompt",
        "output_width",
        "output_height",
    ]
    assert SdxlFluxRefine.SOURCE.endswith("sdxl-flux-refine.json")


def test_shared_data_reached_through_a_link_generates_the_same_module(
    tmp_path: Path, shared_dir: Path
) -> None:
    from tests.golden import GOLDEN, render_goldens

    (tmp_path / "shared").symlink_to(shared_dir.resolve())
    checkout = tmp_path / "main" / "tests" / "golden"
    checkout.mkdir(parents=True)
    golden = render_goldens(shared_dir / "data" / "workflows")[0]
    source = tmp_path / "shared" / "data" / "workflows" / "flux-image-to-image.json"
    linked = render_module(source, checkout, default_catalog(), golden.command)
    assert linked.source == (GOLDEN / "flux_image_to_image.py").read_text(encoding="utf-8")


@pytest.mark.parametrize("version", ["6.8", "6.3"])
def test_older_invokeai_versions_generate_and_load(
    shared_dir: Path, tmp_path: Path, version: str
) -> None:
    generate_fields(
        load_file(shared_dir / "data" / "openapi" / f"invokeai-{version}.json"), tmp_path
    )
    loaded = Catalog.from_dir(tmp_path)
    assert loaded.invokeai_version == version
    field = loaded.input_field("img_resize", "width", "640")
    assert field.to_json_dict() == 640
    image = loaded.input_field("img_resize", "image", {"image_name": "a.png"})
    assert type(image).__name__ == "IvkImageField"
    assert image.to_json_dict() == {"image_name": "a.png"}


def test_outputs_of_a_recorded_gui_run(shared_dir: Path) -> None:
    raw = json.loads(
        (shared_dir / "data/recorded-gui-runs/sdxl-flux-refine.queue-item.json").read_text()
    )
    item = SessionQueueItem.model_validate(raw)
    outputs = collect_outputs(item, output_nodes(raw["workflow"], CATALOG))
    names = {o.image_name for o in outputs}
    assert "2436c4fd-4207-497d-89d0-86d6d4ef8b5a.png" in names
    assert all(o.item_id == item.item_id and o.session_id == item.session_id for o in outputs)
    save = next(o for o in outputs if o.image_name == "2436c4fd-4207-497d-89d0-86d6d4ef8b5a.png")
    assert (save.node_id, save.node_type) == ("4414d4b5-82c3-4513-8c3f-86d88c24aadc", "save_image")
    created = created_names(item, CATALOG, "image")
    assert names <= set(created) and "f3edf77d-31c4-4934-b7c3-d5155f080da0.png" in created
