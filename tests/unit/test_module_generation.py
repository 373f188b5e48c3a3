"""Typed workflow modules: golden files, safety of user text, and mypy on user code."""

from __future__ import annotations

import ast
import copy
import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ivkgen.generator import GeneratorError
from ivkgen.generator.package import generate_modules
from ivkgen.generator.regen import find_modules, rerender
from ivkgen.runtime._workflow.definition import WorkflowDefinition
from ivkgen.runtime._workflow.handle import WorkflowHandle

from tests.conftest import REPO
from tests.unit._mypy import mypy_report

GENERATED = REPO / "generated"
TEAM = REPO / "data" / "workflows"
NASTY = [
    'He said "hi"',
    "it's",
    '"""; import os; os.system("echo pwned") #',
    "back\\slash \\n \\",
    "line one\nline two\r\n",
    "# not a comment",
    "__import__('os').system('x')",
    "Ünïcödé ☃ 日本語",
    "'''",
    "\t\x00\x1b",
]


def test_committed_modules_are_what_regeneration_writes() -> None:
    found = find_modules(GENERATED)
    assert sorted(m.source.resolve() for m in found) == sorted(TEAM.glob("*.json"))
    for existing in found:
        module = rerender(existing, {})
        assert (
            module.path.read_text(encoding="utf-8") == module.source
        ), f"{module.path} is stale: run `make regen`"


def test_regenerating_is_byte_identical(tmp_path: Path) -> None:
    source = TEAM / "sd15-text-to-image.json"
    first = generate_modules([source], tmp_path)[0].read_bytes()
    second = generate_modules([source], tmp_path)[0].read_bytes()
    assert first == second


def _nasty_workflow(texts: list[str]) -> tuple[dict[str, Any], list[str]]:
    """The image pipeline with user text from ``texts`` everywhere; also the form labels set."""
    workflow = json.loads((TEAM / "image-pipeline.json").read_text())
    workflow["name"], workflow["description"] = texts[0], texts[1]
    text = itertools.cycle(texts)
    for node in workflow["nodes"]:
        node["data"]["label"] = next(text)
        for field in node["data"]["inputs"].values():
            field["description"] = next(text)
    form = workflow["form"]["elements"]
    fields = [form[child]["data"]["fieldIdentifier"] for child in form["root"]["data"]["children"]]
    nodes = {node["id"]: node["data"] for node in workflow["nodes"]}
    for ref, label in zip(fields, text, strict=False):
        nodes[ref["nodeId"]]["inputs"][ref["fieldName"]]["label"] = label
    return workflow, [nodes[r["nodeId"]]["inputs"][r["fieldName"]]["label"] for r in fields]


@pytest.mark.parametrize("rotation", range(len(NASTY)))
def test_user_text_never_becomes_code(tmp_path: Path, rotation: int) -> None:
    workflow, labels = _nasty_workflow(NASTY[rotation:] + NASTY[:rotation])
    source = tmp_path / "nasty.json"
    source.write_text(json.dumps(workflow), encoding="utf-8")
    path = generate_modules([source], tmp_path)[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))

    top = [n for n in tree.body if not isinstance(n, ast.Expr | ast.ImportFrom)]
    defined = [n.targets[0].id if isinstance(n, ast.Assign) else n.name for n in top]  # type: ignore[attr-defined]
    assert defined == ["__all__", "NastyInputName", "NastyInputs", "NastyOutputs", "Nasty"]
    calls = {
        n.func.id if isinstance(n.func, ast.Name) else n.func.attr  # type: ignore[attr-defined]
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
    }
    assert calls <= {"At", "OutputAt", "Field", "model_validate"}
    strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)]
    assert workflow["name"] in strings
    docs = [s for s in strings if isinstance(s, str)]
    for label in labels:  # docstrings show each run of whitespace as one space
        shown = " ".join(label.split())
        assert any(doc.startswith(f"{shown} -- node") for doc in docs), f"{label!r} was lost"


def test_labels_that_normalise_to_nothing_give_stable_names(tmp_path: Path) -> None:
    workflow, _ = _nasty_workflow(["☃☃☃", "!!!"])
    source = tmp_path / "☃.json"
    source.write_text(json.dumps(workflow), encoding="utf-8")
    first = generate_modules([source], tmp_path)[0]
    assert first.name == "workflow.py"
    names = list(ast.parse(first.read_text()).body)
    again = generate_modules([source], tmp_path)[0]
    assert ast.dump(ast.parse(again.read_text())) == ast.dump(ast.Module(names, []))


def test_a_bad_workflow_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "broken.json"
    source.write_text('{"nodes": [}', encoding="utf-8")
    with pytest.raises(GeneratorError, match=r"broken\.json"):
        generate_modules([source], tmp_path / "out")[0]
    assert not (tmp_path / "out").exists()


def test_mypy_catches_misuse_of_a_generated_module(tmp_path: Path) -> None:
    good = (
        "from generated.sd15_text_to_image import Sd15TextToImageInputs\n"
        "inputs = Sd15TextToImageInputs(model='tiny-sd15', width=64, steps=4)\n"
        "inputs.positive_prompt = 'a fox'\n"
    )
    assert "Success" in mypy_report(good, tmp_path)
    bad = (
        "from generated.sd15_text_to_image import Sd15TextToImageInputs\n"
        "a = Sd15TextToImageInputs(model='m', width='wide')\n"
        "b = Sd15TextToImageInputs(model='m', widht=64)\n"
        "c = Sd15TextToImageInputs(width=64)\n"
        "a.scheduler = 'not-a-scheduler'\n"
    )
    report = mypy_report(bad, tmp_path)
    assert 'pipeline.py:2: error: Argument "width"' in report
    assert 'pipeline.py:3: error: Unexpected keyword argument "widht"' in report
    assert 'pipeline.py:4: error: Missing named argument "model"' in report
    assert "pipeline.py:5: error: Incompatible types in assignment" in report


SWEEP = """\
from generated.sd15_text_to_image import Sd15TextToImage, Sd15TextToImageInputs
from ivkgen.runtime import InvokeAIClient
from ivkgen.runtime._pool.pool import ServerPool

with InvokeAIClient.from_url("http://127.0.0.1:9090") as client:
    inputs = Sd15TextToImageInputs(model="tiny-sd15")
    Sd15TextToImage().sweep(client, inputs, "cfg_scale", [1.0, 7.5])
    Sd15TextToImage().sweep(client, inputs, "cfg_scal", [1.0, 7.5])
    ServerPool([client]).sweep(Sd15TextToImage(), inputs, "stpes", [1, 2])
"""


def test_mypy_holds_a_sweep_to_the_inputs_names(tmp_path: Path) -> None:
    report = mypy_report(SWEEP, tmp_path).splitlines()
    assert [line.split(": error: ")[0] for line in report[:-1]] == [
        f"{tmp_path / 'pipeline.py'}:8",
        f"{tmp_path / 'pipeline.py'}:9",
    ], report
    assert 'Argument 3 to "sweep" of "Workflow" has incompatible type "Literal[\'cfg_scal\']"' in (
        report[0]
    )


def test_a_sweep_of_an_unknown_input_names_the_inputs_before_any_request() -> None:
    from ivkgen.runtime import InvokeAIClient
    from ivkgen.runtime._errors import InputLookupError

    from generated.width_sweep import WidthSweep, WidthSweepInputs

    with InvokeAIClient.from_url("http://127.0.0.1:9") as client:  # nothing listens there
        attribute: Any = "widht"
        with pytest.raises(InputLookupError) as caught:
            WidthSweep().sweep(client, WidthSweepInputs(), attribute, [16, 32])
    assert str(caught.value) == (
        "WidthSweepInputs has no input 'widht'; its inputs are first_width, count, width_step, "
        "height, blur_radius, output_board"
    )


def test_generated_inputs_give_the_same_enqueue_body_as_the_dynamic_api() -> None:
    from generated.image_pipeline import ImagePipeline, ImagePipelineInputs

    typed = ImagePipeline().handle(ImagePipelineInputs(canvas_width=128, blur_radius=4.5))
    dynamic = WorkflowHandle(WorkflowDefinition.from_file(TEAM / "image-pipeline.json"))
    width = dynamic.find_input("Canvas Width").field
    replacement = type(width)(value=128, **width.constraints())
    dynamic.set_input_value(dynamic.find_input("Canvas Width").input_index, replacement)
    dynamic.find_input("Blur Radius").field.value = 4.5  # type: ignore[attr-defined]

    bodies = [copy.deepcopy(h.build_enqueue_body()) for h in (typed, dynamic)]
    for body in bodies:
        body["batch"]["graph"].pop("id")
    assert bodies[0] == bodies[1]
    nodes = bodies[0]["batch"]["graph"]["nodes"]
    assert {n["type"]: n.get("width") for n in nodes.values()}["blank_image"] == 128


def test_a_changed_workflow_json_warns_at_run_time(tmp_path: Path) -> None:
    from ivkgen.runtime import SourceChangedWarning

    from generated.image_pipeline import ImagePipeline

    assert ImagePipeline().definition.name == "Image Pipeline"
    edited = json.loads((TEAM / "image-pipeline.json").read_text())
    edited["description"] = "edited after generation"
    source = tmp_path / "image-pipeline.json"
    source.write_text(json.dumps(edited), encoding="utf-8")
    with pytest.warns(SourceChangedWarning, match="changed since ImagePipeline was generated"):
        assert ImagePipeline(source).definition.description == "edited after generation"


def test_generating_and_importing_modules_load_only_what_they_need(tmp_path: Path) -> None:
    """`ivkgen gen` from a file needs no client stack; a generated module needs no generator
    and builds only the field classes it names."""
    code = (
        "import sys;"
        "from ivkgen.cli.main import main;"
        f"main(['gen', '-o', {str(tmp_path)!r}, {str(TEAM / 'image-pipeline.json')!r}]);"
        "print(sorted(m for m in ('httpx', 'socketio', 'ivkgen.runtime._workflow.handle')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.stdout.splitlines()[-1] == "[]", out.stderr
    code = (
        "import sys, ivkgen.runtime, generated.image_pipeline;"
        "print(sorted(m for m in sys.modules if m.startswith(('generated.fields_6_14_2.', 'httpx',"
        " 'jinja2', 'black', 'datamodel_code_generator'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.stdout.strip() == (
        "['generated.fields_6_14_2._boardfield', 'generated.fields_6_14_2._colorfield']"
    )
