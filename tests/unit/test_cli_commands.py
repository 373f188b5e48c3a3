"""``ivkgen inputs``, ``check`` and ``run`` without a server: listings, findings, value parsing
and the errors a person sees (message, hint, exit code, never a traceback)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from ivkgen.cli.errors import CommandError, report
from ivkgen.cli.findings import check_workflow
from ivkgen.cli.input_values import ServerLookups, add_image, set_input
from ivkgen.cli.main import main
from ivkgen.cli.workflow_inputs import find_named, load_handle
from ivkgen.runtime._client import AsyncInvokeAIClient
from ivkgen.runtime._errors import InputLookupError, JobFailedError, JobTimeoutError, WorkflowError
from ivkgen.runtime._server.dto import ModelConfig
from ivkgen.runtime._workflow.catalog import default_catalog
from ivkgen.runtime._workflow.definition import WorkflowDefinition
from ivkgen.runtime._workflow.handle import WorkflowHandle
from PIL import Image

from generated.sd15_text_to_image import Sd15TextToImageInputs
from tests.conftest import REPO
from tests.harness.fake_invokeai import FakeInvokeAI, VirtualClock
from tests.unit._workflows import field, node, workflow

TEAM = REPO / "data" / "workflows"
SD15 = TEAM / "sd15-text-to-image.json"
PIPELINE = TEAM / "image-pipeline.json"
UNREACHABLE = "http://127.0.0.1:1"
SDXL_KEY = "7c1d"


def tiny_model(name: str, base: str, type: str = "main") -> ModelConfig:
    return ModelConfig(key=f"key-{name}", hash=f"blake3:{name}", name=name, base=base, type=type)


MODELS = [tiny_model("tiny-sd15", "sd-1"), tiny_model("tiny-sdxl", "sdxl")]


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def write(tmp_path: Path, data: dict[str, Any], name: str = "workflow.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# ivkgen inputs -------------------------------------------------------------------------------


def test_inputs_lists_the_workflow_and_each_input_as_use_case_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run_main(capsys, "inputs", str(SD15))
    assert code == 0
    assert out.startswith(
        "Workflow: SD1.5 Text to Image\nDescription: Stable Diffusion 1.5 text to image"
    )
    assert "Total configurable inputs: 9\n" in out
    assert (
        "[2] Width\n  Name: width\n  Node: Noise (noise:VuddLEG62H)\n  Field: width\n"
        "  Type: IvkIntegerField\n  Required: False\n  Current Value: 512\n"
    ) in out
    assert "[7] Model\n  Name: model\n" in out
    assert out.rstrip().endswith("Required inputs still needed:\n  [7] 'Model' (model)")


def test_inputs_json_gives_every_column_and_the_generated_attribute_names(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run_main(capsys, "inputs", str(SD15), "--json")
    listing = json.loads(out)
    assert code == 0
    assert {k: listing[k] for k in ("name", "version")} == {
        "name": "SD1.5 Text to Image",
        "version": "1.0.0",
    }
    assert [i["name"] for i in listing["inputs"]] == list(Sd15TextToImageInputs.model_fields)
    assert listing["inputs"][6] == {
        "index": 6,
        "label": "Scheduler",
        "name": "scheduler",
        "node_name": "Denoise",
        "node_id": "denoise_latents:kd9Gf2leMe",
        "field": "scheduler",
        "type": "IvkSchedulerField",
        "required": False,
        "value": "euler",
    }
    assert listing["inputs"][7]["required"] is True
    assert listing["inputs"][7]["value"] is None


def test_inputs_found_by_name_then_label_then_label_in_any_case() -> None:
    handle = load_handle(SD15)
    assert find_named(handle, "cfg_scale").entry.label == "CFG Scale"
    assert find_named(handle, "CFG Scale").name == "cfg_scale"
    assert find_named(handle, "cfg scale").name == "cfg_scale"


def test_two_inputs_with_one_label_are_told_apart_by_name(tmp_path: Path) -> None:
    nodes = [
        node("a", "integer", value=field("value", 1, label="Size")),
        node("b", "integer", value=field("value", 2, label="Size")),
    ]
    handle = load_handle(write(tmp_path, workflow(nodes, exposed=[("a", "value"), ("b", "value")])))
    with pytest.raises(InputLookupError, match=r"\[0\] 'Size' \(size\), \[1\] 'Size' \(size_2\)"):
        find_named(handle, "Size")
    assert find_named(handle, "size_2").entry.node_id == "b"


# Errors a person sees ------------------------------------------------------------------------


def test_missing_workflow_file_says_to_check_the_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run_main(capsys, "inputs", str(tmp_path / "nope.json"))
    assert code == 2
    assert "nope.json: cannot read: No such file or directory; check the path" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not JSON"),
        ('{"name": "x"}', "not an InvokeAI workflow"),
        ('{"meta": {"version": "9.0.0"}, "nodes": []}', "meta.version '9.0.0' is not supported"),
    ],
)
def test_bad_workflow_file_says_to_export_it_again(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    code, _, err = run_main(capsys, "inputs", str(path))
    assert code == 2
    assert message in err
    assert "the InvokeAI workflow editor" in err


def test_unreachable_server_says_to_start_one_or_fix_the_url(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for argv in (
        ["check", str(PIPELINE), "--server", UNREACHABLE],
        ["run", str(PIPELINE), "--server", UNREACHABLE],
    ):
        code, _, err = run_main(capsys, *argv)
        assert code == 1
        assert "cannot connect to http://127.0.0.1:1" in err
        assert "hint: start InvokeAI or pass the address of a running one with --server" in err


def test_unknown_input_name_lists_the_inputs(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(capsys, "run", str(SD15), "--server", UNREACHABLE, "--set", "seed=3")
    assert code == 1
    assert "has no input 'seed'; its inputs are: positive_prompt (Positive Prompt)" in err
    assert "hint: use a label or name from `ivkgen inputs WORKFLOW.json`" in err


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("width=wide", "--set width=wide: input [2] 'Width' (width) holds a IvkIntegerField:"),
        ("width=500", "500 breaks multiple_of=8"),
        ("scheduler=fast", "'fast' breaks choices"),
        ("width", "--set 'width': expected NAME=VALUE"),
    ],
)
def test_values_the_input_rejects_fail_before_contacting_the_server(
    capsys: pytest.CaptureFixture[str], assignment: str, message: str
) -> None:
    code, _, err = run_main(capsys, "run", str(SD15), "--server", UNREACHABLE, "--set", assignment)
    assert code == 1
    assert message in err
    assert "cannot connect" not in err


def test_required_input_without_value_stops_the_run_and_names_the_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run_main(capsys, "run", str(SD15), "--server", UNREACHABLE)
    assert code == 1
    assert "input [7] 'Model' (model): required: set a value; pass --set model=VALUE" in err


def test_image_option_needs_an_image_input_and_an_existing_file(tmp_path: Path) -> None:
    blur = node("blur", "img_blur", image=field("image", label="Photo"))
    handle = load_handle(
        write(
            tmp_path,
            workflow(
                [blur, node("n", "integer", value=1)], exposed=[("blur", "image"), ("n", "value")]
            ),
        )
    )
    with pytest.raises(CommandError, match="no such file"):
        add_image(handle, f"photo={tmp_path / 'missing.png'}")
    with pytest.raises(CommandError, match="is a IvkIntegerField, not an image input"):
        add_image(handle, f"value={write(tmp_path, {})}")
    with pytest.raises(CommandError, match=r"photo\.png' is not a PNG, JPEG"):
        add_image(handle, f"Photo={write(tmp_path, {}, 'photo.png')}")
    png = tmp_path / "real.png"
    Image.new("RGB", (8, 8)).save(png)
    add_image(handle, f"Photo={png}")
    assert handle.get_input(0).field.to_json_dict() is None  # uploaded when submitted


def test_bad_option_values_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(SD15), "--server", UNREACHABLE, "--runs", "0"])
    assert exit_info.value.code == 2
    assert "'0' must be above 0" in capsys.readouterr().err


def test_job_errors_get_the_command_line_step() -> None:
    failed = JobFailedError("queue item 3 failed in node 'Crop'", item_id=3)
    assert report(failed) == [
        "ivkgen: error: queue item 3 failed in node 'Crop'",
        "ivkgen: hint: `ivkgen inputs WORKFLOW.json` lists the inputs; the InvokeAI log has the "
        "server's traceback",
    ]
    timeout = JobTimeoutError("batch b: still unfinished", item_id=3)
    assert report(timeout)[1] == ("ivkgen: hint: pass a larger --timeout to wait longer")


# Setting values from text --------------------------------------------------------------------


@pytest.fixture
def lookups() -> ServerLookups:
    board = {"board_id": "b-1", "board_name": "Foxes", "created_at": "", "updated_at": ""}
    models = [m.model_dump() for m in MODELS]
    server = FakeInvokeAI("fake", VirtualClock(), models=models, boards=[board])
    return ServerLookups(AsyncInvokeAIClient.from_url("http://fake", transport=server.transport()))


def values(handle: WorkflowHandle) -> dict[str, Any]:
    return {i.label: i.field.to_json_dict() for i in handle.list_inputs()}


async def test_text_values_are_parsed_by_the_input_type(lookups: ServerLookups) -> None:
    handle = load_handle(SD15)
    for text in (
        "width=768",
        "CFG Scale=4",
        "scheduler=dpmpp_2m",
        "positive_prompt=1024 foxes",
        "model=tiny-sd15",
        "Output Board=Foxes",
    ):
        await set_input(handle, lookups, text)
    assert values(handle) | {"Negative Prompt": None} == {
        "Positive Prompt": "1024 foxes",
        "Negative Prompt": None,
        "Width": 768,
        "Height": 512,
        "Steps": 30,
        "CFG Scale": 4.0,
        "Scheduler": "dpmpp_2m",
        "Model": MODELS[0].identifier(),
        "Output Board": {"board_id": "b-1"},
    }


async def test_structured_values_take_json_colours_take_hex(
    lookups: ServerLookups, tmp_path: Path
) -> None:
    handle = load_handle(PIPELINE)
    await set_input(handle, lookups, "canvas_color=#102030")
    assert values(handle)["Canvas Color"] == {"r": 16, "g": 32, "b": 48, "a": 255}
    await set_input(handle, lookups, 'Canvas Color={"r": 1, "g": 2, "b": 3, "a": 4}')
    assert values(handle)["Canvas Color"] == {"r": 1, "g": 2, "b": 3, "a": 4}
    with pytest.raises(CommandError, match="not valid JSON"):
        await set_input(handle, lookups, "canvas_color={r: 1}")
    flags = node("flag", "boolean", value=field("value", False, label="Flag"))
    numbers = node("nums", "integer_collection", collection=field("collection", [], label="Ns"))
    path = write(
        tmp_path, workflow([flags, numbers], exposed=[("flag", "value"), ("nums", "collection")])
    )
    handle = load_handle(path)
    await set_input(handle, lookups, "flag=yes")
    await set_input(handle, lookups, "Ns=[1, 2, 3]")
    assert values(handle) == {"Flag": True, "Ns": [1, 2, 3]}


async def test_unknown_model_or_board_names_list_what_the_server_has(
    lookups: ServerLookups,
) -> None:
    handle = load_handle(SD15)
    with pytest.raises(
        CommandError,
        match=r"no model named 'tiny-sd' is installed on the server; closest installed: "
        r"'tiny-sd15'$",  # the SD1.5 loader takes no SDXL model
    ):
        await set_input(handle, lookups, "model=tiny-sd")
    with pytest.raises(
        WorkflowError,
        match=r"input 'Model' .*: takes a main model of base sd-1 or sd-2; 'tiny-sdxl' is a main "
        r"model of base sdxl; installed models it takes: 'tiny-sd15' \(sd-1\)$",
    ):
        await set_input(handle, lookups, "model=tiny-sdxl")
    with pytest.raises(
        CommandError,
        match=r"no board named 'Cats'; its boards are 'Foxes'\. "
        "Create the board in the InvokeAI gallery",
    ):
        await set_input(handle, lookups, "output_board=Cats")


# ivkgen check (offline parts) ----------------------------------------------------------------


def messages(findings: list[Any], severity: str) -> list[str]:
    return [f.message for f in findings if f.severity == severity]


def test_check_reports_every_node_type_the_server_lacks(tmp_path: Path) -> None:
    catalog = default_catalog()
    smaller = dataclasses.replace(
        catalog, nodes={k: v for k, v in catalog.nodes.items() if k not in ("img_blur", "img_crop")}
    )
    findings = check_workflow(PIPELINE, smaller, MODELS)
    errors = messages(findings, "error")
    assert len(errors) == 2
    assert errors[0].startswith(
        "node 'Blur' (img_blur:RV5IfLBcbf) has type 'img_blur' (node pack 'invokeai'), which "
        "InvokeAI 6.14.2 does not have: install the node pack"
    )
    assert "node 'Crop' (img_crop:IAoCLrZ3aW) has type 'img_crop'" in errors[1]


def test_check_fails_on_newer_node_versions_and_warns_on_older(tmp_path: Path) -> None:
    data = WorkflowDefinition.from_file(PIPELINE).to_dict()
    data["nodes"][1]["data"]["version"] = "99.0.0"
    data["nodes"][2]["data"]["version"] = "0.0.1"
    findings = check_workflow(write(tmp_path, data), default_catalog(), MODELS)
    server = default_catalog().node
    assert messages(findings, "error") == [
        f"node 'Blur' (img_blur:RV5IfLBcbf) is img_blur 99.0.0, newer than the server's "
        f"{server('img_blur').version}: update InvokeAI on the server, or rebuild the node in "
        "its workflow editor"
    ]
    assert messages(findings, "warning") == [
        f"node 'Resize' (img_resize:noGMbJmTPS) was saved as img_resize 0.0.1; the server has "
        f"{server('img_resize').version} (the workflow editor offers to update the node)"
    ]


def test_check_names_missing_models_with_candidates_and_the_option(tmp_path: Path) -> None:
    saved = {
        "key": "914b2e5a-b8d3-4da1-965f-b3775bbc5745",
        "hash": "blake3:7bb02e9351409debc5727aeeb83f77340931d3c8f86d2d6c69f67af8de20dd74",
        "name": "juggernautXL_v9Rundiffusionphoto2",
        "base": "sdxl",
        "type": "main",
    }
    loader = node("loader", "sdxl_model_loader", model=field("model", saved))
    path = tmp_path / "sdxl.json"
    path.write_text(json.dumps(workflow([loader], exposed=[("loader", "model")])))
    findings = check_workflow(path, default_catalog(), MODELS)
    assert messages(findings, "error") == [
        "input [0] 'Model' (model): model 'juggernautXL_v9Rundiffusionphoto2' (sdxl main) is not "
        "installed on the server; closest installed: 'tiny-sdxl' (sdxl main); pass --set "
        "model=tiny-sdxl to "
        "ivkgen run (or check)"
    ]
    installed = tiny_model("juggernautXL_v9Rundiffusionphoto2", "sdxl")
    assert messages(check_workflow(path, default_catalog(), [installed]), "error") == []


def test_check_reports_required_inputs_without_a_value() -> None:
    findings = check_workflow(SD15, default_catalog(), MODELS)
    assert messages(findings, "error") == [
        "input [7] 'Model' (model): required: set a value; pass --set model=VALUE to ivkgen run "
        "(or check)"
    ]
    assert check_workflow(PIPELINE, default_catalog(), []) == []
