"""Every shipped workflow loads, lists its form inputs, converts, and is either accepted by the
server or blocked, before anything is sent, by ``validate_inputs()`` naming exactly the inputs
at fault. The tiny-model text-to-image defaults run to completion.

``BLOCKERS`` was derived from the real server: each blocked workflow's naive enqueue body is
rejected (422) for one of the named inputs, or accepted only to fail at run time because a
required input (a model, an image) is missing. Every listed blocker is a required model or image
with no saved value. Three default workflows use node types InvokeAI 6.14.2 no longer has
(``canny_image_processor``, ``midas_depth_image_processor``): they load as in the GUI,
``validate_inputs().blockers`` names those nodes and submission refuses them.

``test_every_server_rejection_was_named_before_sending`` is the measurement: for every workflow
(and two variants of shipped ones with the faults older exports have: no form, an edge from an
output the node no longer has), the reason of each server rejection is named first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ivkgen.runtime._client import InvokeAIClient
from ivkgen.runtime._errors import WorkflowError
from ivkgen.runtime._workflow.definition import WorkflowDefinition
from ivkgen.runtime._workflow.form import form_field_refs
from ivkgen.runtime._workflow.handle import WorkflowHandle

from tests.conftest import REPO, SHARED
from tests.harness.install import default_workflows_dir
from tests.harness.server import InvokeAIServer
from tests.live._queue import discard, enqueue, paused, produced_images, wait_until_ended

DEFAULT_WORKFLOWS = (
    "CogView4_TextToImage.json",
    "ESRGAN Upscaling with Canny ControlNet.json",
    "Extend Video - Wan 2.2 Lightning w_ Concept LoRAs.json",
    "Extend Video - Wan 2.2 Lightning.json",
    "Extend Video to Image - Wan 2.2 Lightning.json",
    "FLUX Image to Image.json",
    "Face Detailer with IP-Adapter & Canny (See Note in Details).json",
    "Flux Text to Image.json",
    "Image to Video - Wan 2.2 Lightning w_ Concept LoRAs.json",
    "Image to Video - Wan 2.2 Lightning.json",
    "Image to Video - Wan 2.2 TI2V-5B (Low Quality).json",
    "Interpolate 2 Images to Video - Wan 2.2 Lightning.json",
    "Multi ControlNet (Canny & Depth).json",
    "MultiDiffusion SD1.5.json",
    "MultiDiffusion SDXL.json",
    "Prompt from File.json",
    "SD3.5 Text to Image.json",
    "Text to Image - SD1.5.json",
    "Text to Image - SDXL.json",
    "Text to Image with LoRA.json",
    "Text to Video - Wan 2.2 Lightning w_ Concept LoRAs.json",
    "Text to Video - Wan 2.2 Lightning.json",
    "Text to Video - Wan 2.2 TI2V-5B (Low Quality).json",
    "Tiled Upscaling (Beta).json",
    "Wan 2.2 Image to Image.json",
    "Wan 2.2 Text to Image.json",
)
"""The default workflows InvokeAI 6.14.2 ships, named here so that the tests are collected before
the server venv exists (a fresh machine installs it in the session fixture, after collection)."""
DEFAULTS = default_workflows_dir()
FILES = [
    *(DEFAULTS / name for name in DEFAULT_WORKFLOWS),
    *sorted((SHARED / "data" / "workflows").glob("*.json")),
    *sorted((REPO / "data" / "workflows").glob("*.json")),
]
CANNY, MIDAS = "canny_image_processor", "midas_depth_image_processor"
UNKNOWN_NODES = {
    "ESRGAN Upscaling with Canny ControlNet.json": {
        ("1d887701-df21-4966-ae6e-a7d82307d7bd", CANNY)
    },
    "Face Detailer with IP-Adapter & Canny (See Note in Details).json": {
        ("8fe598c6-d447-44fa-a165-4975af77d080", CANNY)
    },
    "Multi ControlNet (Canny & Depth).json": {
        ("c826ba5e-9676-4475-b260-07b85e88753c", CANNY),
        ("018b1214-c2af-43a7-9910-fb687c6726d7", MIDAS),
    },
}
TRANSFORMER_AND_LORAS = {
    "Transformer (High Noise)",
    "Lightning LoRA (High Noise)",
    "Lightning LoRA (Low Noise)",
}
BLOCKERS: dict[str, dict[int, str]] = {
    "CogView4_TextToImage.json": {2: "Model"},
    "Extend Video - Wan 2.2 Lightning w_ Concept LoRAs.json": {
        1: "Initial Video",
        7: "Transformer (High Noise)",
        11: "Lightning LoRA (High Noise)",
        13: "Lightning LoRA (Low Noise)",
    },
    "Extend Video - Wan 2.2 Lightning.json": {
        1: "Initial Video",
        7: "Transformer (High Noise)",
        11: "Lightning LoRA (High Noise)",
        13: "Lightning LoRA (Low Noise)",
    },
    "Extend Video to Image - Wan 2.2 Lightning.json": {
        1: "Initial Video",
        4: "Destination Image",
        8: "Transformer (High Noise)",
        12: "Lightning LoRA (High Noise)",
        14: "Lightning LoRA (Low Noise)",
    },
    "FLUX Image to Image.json": {
        0: "Model (dev variant recommended for Image-to-Image)",
        5: "Image",
    },
    "Flux Text to Image.json": {0: "Model"},
    "Image to Video - Wan 2.2 Lightning w_ Concept LoRAs.json": {
        1: "Starting Image",
        6: "Transformer (High Noise)",
        10: "Lightning LoRA (High Noise)",
        11: "Lightning LoRA (Low Noise)",
    },
    "Image to Video - Wan 2.2 Lightning.json": {
        1: "Starting Image",
        6: "Transformer (High Noise)",
        10: "Lightning LoRA (High Noise)",
        12: "Lightning LoRA (Low Noise)",
    },
    "Image to Video - Wan 2.2 TI2V-5B (Low Quality).json": {
        1: "Initial Image",
        5: "Transformer (High Noise)",
    },
    "Interpolate 2 Images to Video - Wan 2.2 Lightning.json": {
        1: "Starting Image",
        2: "Ending Image",
        7: "Transformer (High Noise)",
        11: "Lightning LoRA (High Noise)",
        13: "Lightning LoRA (Low Noise)",
    },
    "MultiDiffusion SD1.5.json": {
        0: "Image to Upscale",
        7: "Model",
        8: "Image-to-Image Model",
        9: "ControlNet Model - Choose a Tile ControlNet",
    },
    "MultiDiffusion SDXL.json": {
        0: "Image to Upscale",
        7: "SDXL Model",
        8: "VAE",
        10: "ControlNet Model - Choose a Tile ControlNet",
    },
    "Prompt from File.json": {0: "Model"},
    "SD3.5 Text to Image.json": {0: "Model"},
    "Text to Image - SD1.5.json": {0: "Model"},
    "Text to Image - SDXL.json": {2: "Model", 3: "VAE (use the FP16 model)"},
    "Text to Image with LoRA.json": {0: "Model", 1: "LoRA"},
    "Text to Video - Wan 2.2 Lightning w_ Concept LoRAs.json": {
        6: "Transformer (High Noise)",
        10: "Lightning LoRA (High Noise)",
        11: "Lightning LoRA (Low Noise)",
    },
    "Text to Video - Wan 2.2 Lightning.json": {
        6: "Transformer (High Noise)",
        10: "Lightning LoRA (High Noise)",
        12: "Lightning LoRA (Low Noise)",
    },
    "Text to Video - Wan 2.2 TI2V-5B (Low Quality).json": {9: "Transformer"},
    "Tiled Upscaling (Beta).json": {
        0: "Model",
        1: "Image to Upscale",
        6: "IP-Adapter Model (select ip_adapter_sd15)",
        7: "Control Model (select control_v11f1e_sd15_tile)",
    },
    "Wan 2.2 Image to Image.json": {0: "Transformer", 5: "Reference Image"},
    "Wan 2.2 Text to Image.json": {0: "Transformer"},
    "sd15-text-to-image.json": {7: "Model"},
}
SERVER_ONLY_CHECKS = {"Prompt from File.json": ("prompt_from_file", "file_path")}
"""Inputs the server also rejects for reasons no schema states (the prompts file must exist)."""


@pytest.fixture(scope="module")
def http(server_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server_url, timeout=60) as client:
        yield client


def test_all_workflow_sources_are_found(invokeai: InvokeAIServer) -> None:
    assert sorted(p.name for p in DEFAULTS.glob("*.json")) == sorted(DEFAULT_WORKFLOWS)
    assert len(list((SHARED / "data" / "workflows").glob("*.json"))) >= 3
    names = {p.name for p in FILES}
    assert set(UNKNOWN_NODES) | set(BLOCKERS) <= names


def _rejected_input(response: httpx.Response) -> tuple[str, str]:
    """(node id, field) of the first node input a 422 enqueue response complains about."""
    location = response.json()["detail"][0]["loc"]
    nodes_at = location.index("nodes")
    return location[nodes_at + 1], location[nodes_at + 3]


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_shipped_workflow(http: httpx.Client, server_url: str, path: Path) -> None:
    definition = WorkflowDefinition.from_file(path)
    assert definition.to_dict() == json.loads(path.read_text(encoding="utf-8"))
    handle = WorkflowHandle(definition)
    inputs = handle.list_inputs()
    if form_field_refs(definition.to_dict()):
        assert inputs, "the GUI shows a form for this workflow"
    if path.name in UNKNOWN_NODES:
        blockers = handle.validate_inputs().blockers
        assert {(b.node_id, b.node_type) for b in blockers} == UNKNOWN_NODES[path.name]
        with InvokeAIClient.from_url(server_url) as client:
            before = client.queue_repo.list_item_ids()
            with pytest.raises(WorkflowError) as info:
                handle.bind_client(client).submit_sync()
            assert client.queue_repo.list_item_ids() == before
        assert all(node_id in str(info.value) for node_id, _ in UNKNOWN_NODES[path.name])
        return
    body = handle.build_enqueue_body(prepend=True)
    problems = handle.validate_inputs()
    expected = BLOCKERS.get(path.name, {})
    assert {i: handle.get_input(i).label for i in problems} == expected
    blockers = {(inputs[i].node_id, inputs[i].field_name) for i in problems}
    with paused(http):
        response = enqueue(http, body)
        if response.status_code == 200:
            discard(http, response.json()["item_ids"])
    if not expected:
        assert response.status_code == 200, response.text
    elif response.status_code != 200:
        assert response.status_code == 422, response.text
        node_id, field = _rejected_input(response)
        allowed = SERVER_ONLY_CHECKS.get(path.name)
        node_type = definition.node_by_id(node_id)["data"]["type"]  # type: ignore[index]
        assert (node_id, field) in blockers or (node_type, field) == allowed, response.text


def _variants() -> list[tuple[str, dict[str, Any]]]:
    """Shipped workflows with the faults of older exports: the CogView4 workflow without its
    form (its model input is then in no form), and the SD3.5 workflow with its transformer edge
    from ``mmditx``, the output's name in older versions of the loader."""
    cogview = json.loads((DEFAULTS / "CogView4_TextToImage.json").read_text(encoding="utf-8"))
    cogview.pop("form")
    sd35 = json.loads((DEFAULTS / "SD3.5 Text to Image.json").read_text(encoding="utf-8"))
    for edge in sd35["edges"]:
        if edge.get("sourceHandle") == "transformer":
            edge["sourceHandle"] = "mmditx"
    return [("CogView4 without a form", cogview), ("SD3.5 with an mmditx edge", sd35)]


def _reason(name: str, handle: WorkflowHandle, response: httpx.Response) -> str:
    """``named`` when the reason the server gave for rejecting the body was named before
    sending, ``server-only`` for a check no schema states (``SERVER_ONLY_CHECKS``), else
    ``unnamed``."""
    problems = handle.validate_inputs()
    inputs = handle.list_inputs()
    named = {(inputs[i].node_id, inputs[i].field_name) for i in problems}
    named |= {(b.node_id, b.field_name) for b in problems.blockers}
    detail = response.json()["detail"]
    if isinstance(detail, list) and "nodes" in detail[0]["loc"]:
        node_id, field = _rejected_input(response)
        node_type = handle.definition.node_by_id(node_id)["data"]["type"]  # type: ignore[index]
        if (node_id, field) in named:
            return "named"
        return "server-only" if SERVER_ONLY_CHECKS.get(name) == (node_type, field) else "unnamed"
    text = json.dumps(detail)
    fields = [b.field_name for b in problems.blockers if b.field_name]
    return "named" if any(field in text for field in fields) else "unnamed"


def test_every_server_rejection_was_named_before_sending(http: httpx.Client) -> None:
    sources = [(p.name, json.loads(p.read_text(encoding="utf-8"))) for p in FILES]
    sources += _variants()
    refused, reasons, unnamed = [], {}, []
    for name, data in sources:
        handle = WorkflowHandle(WorkflowDefinition.from_dict(data, source=name))
        if any(b.kind == "unknown_type" for b in handle.validate_inputs().blockers):
            refused.append(name)  # submission refuses it, naming the nodes: nothing is sent
            continue
        with paused(http):
            response = enqueue(http, handle.build_enqueue_body(prepend=True))
            if response.status_code == 200:
                discard(http, response.json()["item_ids"])
        if response.status_code == 200:
            continue
        assert response.status_code == 422, response.text
        reasons[name] = _reason(name, handle, response)
        if reasons[name] == "unnamed":
            unnamed.append(f"{name}: {response.text[:300]}")
    named = sum(reason == "named" for reason in reasons.values())
    print(
        f"\n{len(sources)} workflows: {len(reasons)} rejected by the server ({named} for a reason "
        f"named first, {len(reasons) - named - len(unnamed)} server-only checks), "
        f"{len(refused)} refused before sending (unknown node types), {len(unnamed)} rejections "
        "not named first"
    )
    assert reasons["CogView4 without a form"] == reasons["SD3.5 with an mmditx edge"] == "named"
    assert len(refused) == len(UNKNOWN_NODES)
    assert unnamed == []


def _set_model(handle: WorkflowHandle, label: str, identifier: dict[str, Any]) -> None:
    index = handle.find_input(label).input_index
    handle.set_input_value(index, type(handle.get_input_value(index)).model_validate(identifier))


def test_prompt_from_file_is_rejected_only_for_its_missing_file(
    http: httpx.Client, tiny_models: dict[str, dict[str, Any]]
) -> None:
    handle = WorkflowHandle(WorkflowDefinition.from_file(DEFAULTS / "Prompt from File.json"))
    _set_model(handle, "Model", tiny_models["tiny-sd15"])
    assert handle.validate_inputs() == {}
    with paused(http):
        response = enqueue(http, handle.build_enqueue_body(prepend=True))
    assert response.status_code == 422
    node_id, field = _rejected_input(response)
    assert (node_id, field) == (handle.find_input("Prompts File Path").node_id, "file_path")


def _small_noise(path: Path) -> WorkflowDefinition:
    data = json.loads(path.read_text(encoding="utf-8"))
    for node in data["nodes"]:
        if node["data"].get("type") == "noise":
            node["data"]["inputs"]["width"]["value"] = 64
            node["data"]["inputs"]["height"]["value"] = 64
    return WorkflowDefinition.from_dict(data, source=path.name)


@pytest.mark.parametrize(
    ("name", "models"),
    [
        ("Text to Image - SD1.5.json", {"Model": "tiny-sd15"}),
        (
            "Text to Image - SDXL.json",
            {"Model": "tiny-sdxl", "VAE (use the FP16 model)": "tiny-vae"},
        ),
    ],
)
def test_tiny_model_defaults_run_to_completion(
    http: httpx.Client, tiny_models: dict[str, dict[str, Any]], name: str, models: dict[str, str]
) -> None:
    handle = WorkflowHandle(_small_noise(DEFAULTS / name))
    for label, model in models.items():
        _set_model(handle, label, tiny_models[model])
    assert handle.validate_inputs() == {}
    response = enqueue(http, handle.build_enqueue_body())
    assert response.status_code == 200, response.text
    (item_id,) = response.json()["item_ids"]
    images: list[str] = []
    try:
        finished = wait_until_ended(http, item_id)
        images = produced_images(finished["session"])
        assert finished["status"] == "completed", finished.get("error_traceback")
        assert images
    finally:
        for image in images:
            http.delete(f"/api/v1/images/i/{image}")
        discard(http, [item_id])
