"""The OpenAI binding guessed from a served workflow's Inputs, overridden by a binding file,
and printed by ``ivkgen serve --explain-bindings``."""

from __future__ import annotations

from pathlib import Path

import pytest
from ivkgen.cli.main import main
from ivkgen.runtime._errors import ServeSetupError
from ivkgen.service.catalog import ServedWorkflow, load_catalog
from ivkgen.service.openai.binding import Binding, bindings_for, derive, explain

REPO = Path(__file__).resolve().parents[2]
GENERATED = REPO / "generated"
HAND_MADE = REPO / "tests" / "openai_workflows"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ServedWorkflow]:
    return load_catalog([GENERATED], cache=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def hand_made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ServedWorkflow]:
    files = sorted(HAND_MADE.glob("*.json"))
    return load_catalog(files, cache=tmp_path_factory.mktemp("cache"))


def test_the_positive_prompt_and_the_size_inputs_of_sd15_are_bound(
    generated: dict[str, ServedWorkflow],
) -> None:
    assert derive(generated["sd15_text_to_image"]) == Binding(
        "sd15_text_to_image", prompt="positive_prompt", width="width", height="height"
    )


def test_workflows_with_no_prompt_and_no_image_are_left_out_with_one_warning_each(
    generated: dict[str, ServedWorkflow],
) -> None:
    bindings, warnings = bindings_for(generated)
    assert list(bindings) == ["sd15_text_to_image"]
    left_out = ["image_pipeline", "prompt_arithmetic", "width_sweep"]
    assert len(warnings) == len(left_out)
    for name, warning in zip(left_out, warnings, strict=True):
        assert f"workflow {name!r} is not an OpenAI model" in warning
        assert "\n" not in warning


def test_a_lone_prompt_input_and_an_image_only_workflow_are_bound(
    hand_made: dict[str, ServedWorkflow],
) -> None:
    bindings, warnings = bindings_for(hand_made)
    assert warnings == []
    canvas, paste = bindings["prompt_canvas"], bindings["mask_paste"]
    assert (canvas.prompt, canvas.width, canvas.height) == ("prompt", "width", "height")
    assert canvas.generations and not canvas.edits
    assert (paste.image, paste.mask, paste.prompt) == ("image", "mask", None)
    assert paste.edits and not paste.generations


def test_a_fixed_input_is_not_bound(tmp_path: Path) -> None:
    catalog = load_catalog(
        [GENERATED], cache=tmp_path, fixes=["sd15_text_to_image.positive_prompt=a fox"]
    )
    assert derive(catalog["sd15_text_to_image"]).prompt is None


def test_a_binding_file_overrides_the_guess(
    generated: dict[str, ServedWorkflow], tmp_path: Path
) -> None:
    path = tmp_path / "binding.toml"
    path.write_text(
        '[prompt_arithmetic]\nprompt = "subject"\nwidth = "base_size"\nheight = "scale"\n'
        '[sd15_text_to_image]\nheight = ""\n'
    )
    bindings, warnings = bindings_for(generated, path)
    assert bindings["prompt_arithmetic"] == Binding(
        "prompt_arithmetic", prompt="subject", width="base_size", height="scale"
    )
    assert bindings["sd15_text_to_image"].height is None
    assert not bindings["sd15_text_to_image"].sized
    assert len(warnings) == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[nope]\nprompt = "x"\n', "[nope]: no served workflow of that name"),
        ('[width_sweep]\nprompt = "nope"\n', "no requestable input 'nope'"),
        ('[width_sweep]\ncolour = "height"\n', "colour = 'height': expected one of prompt"),
        ("[width_sweep\n", "not a TOML file"),
        ("width_sweep = 3\n", "[width_sweep] must be a table"),
    ],
)
def test_a_bad_binding_file_is_one_error_naming_it(
    generated: dict[str, ServedWorkflow], tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "binding.toml"
    path.write_text(text)
    with pytest.raises(ServeSetupError) as caught:
        bindings_for(generated, path)
    assert str(caught.value).startswith(f"{path}: ")
    assert expected in str(caught.value)


def test_a_missing_binding_file_is_named(generated: dict[str, ServedWorkflow]) -> None:
    with pytest.raises(ServeSetupError, match=r"nowhere\.toml: cannot read the binding file"):
        bindings_for(generated, Path("nowhere.toml"))


def test_explain_says_what_each_field_goes_to() -> None:
    binding = Binding("paste", image="picture", mask="mask")
    assert explain(binding) == (
        "paste: edits (prompt=-, width=-, height=-, seed=-, image=picture, mask=mask)"
    )


def test_serve_explain_bindings_prints_each_binding_and_warns_on_the_rest(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "binding.toml"
    path.write_text('[width_sweep]\nprompt = ""\nwidth = "first_width"\nheight = "height"\n')
    args = ["serve", str(GENERATED), "--server", "http://127.0.0.1:9", "--explain-bindings"]
    assert main([*args, "--openai-binding", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "sd15_text_to_image: generations (prompt=positive_prompt, width=width, height=height, "
        "seed=-, image=-, mask=-)"
    ]
    assert err.count("warning: openai: workflow") == 3


def test_the_documented_explain_bindings_output_is_the_commands(
    capsys: pytest.CaptureFixture[str],
) -> None:
    page = (REPO / "docs" / "openai.md").read_text()
    documented = page.split("$ ivkgen serve generated/ --server http://127.0.0.1:9090 ")[1]
    flag, output = documented.split("```")[0].split("\n", 1)
    assert flag == "--explain-bindings"
    main(["serve", str(GENERATED), "--server", "http://127.0.0.1:9", flag])
    assert capsys.readouterr().out == output


def test_the_documented_binding_file_binds_its_workflow(
    generated: dict[str, ServedWorkflow], tmp_path: Path
) -> None:
    page = (REPO / "docs" / "openai.md").read_text()
    [toml] = page.split("```toml\n")[1:]
    path = tmp_path / "binding.toml"
    path.write_text(toml.split("```")[0])
    bindings, _ = bindings_for(generated, path)
    assert explain(bindings["prompt_arithmetic"]) == (
        "prompt_arithmetic: generations (prompt=subject, width=base_size, height=scale, seed=-, "
        "image=-, mask=-)"
    )


HAND_WRITTEN = '''
from typing import Annotated, ClassVar

from ivkgen.runtime import At, ImageSource, Workflow, WorkflowInputs, WorkflowOutputs
from pydantic import Field

from generated.fields_6_14_2 import IvkImageField


class SeededInputs(WorkflowInputs):
    style_prompt: Annotated[str, At("compel:style", "prompt")] = "ink"
    """Style Prompt -- node "Style" (compel), field prompt."""

    positive_prompt: Annotated[str, At("compel:main", "prompt")] = "a fox"
    """Positive Prompt -- node "Main" (compel), field prompt."""

    negative_prompt: Annotated[str, At("compel:avoid", "prompt")] = "blur"
    """Negative Prompt -- node "Avoid" (compel), field prompt."""

    noise_seed: Annotated[int, Field(ge=0), At("noise:n", "value")] = 0
    """Seed -- node "Noise" (noise), field seed."""

    init_image: Annotated[IvkImageField | ImageSource | None, At("image:i", "image")] = None
    """Init Image -- node "Image" (image), field image."""

    {size}


class Seeded(Workflow[SeededInputs, WorkflowOutputs]):
    NAME: ClassVar[str] = "Seeded"
    SOURCE: ClassVar[str] = "seeded.json"
    SOURCE_SHA256: ClassVar[str] = ""
    INVOKEAI_VERSION: ClassVar[str] = "6.14.2"
    FIELDS_PACKAGE: ClassVar[str] = "fields_6_14_2"
    inputs_class = SeededInputs
    outputs_class = WorkflowOutputs
'''
ONE_WIDTH = "width: Annotated[int, At('noise:n', 'width')] = 64"
TWO_WIDTHS = (
    "canvas_width: Annotated[int, At('noise:n', 'width')] = 64\n"
    "    tile_width: Annotated[int, At('tile:t', 'width')] = 8"
)


@pytest.mark.parametrize(("size", "width"), [(ONE_WIDTH, "width"), (TWO_WIDTHS, None)])
def test_a_hand_written_module_binds_its_positive_prompt_seed_and_image(
    tmp_path: Path, size: str, width: str | None
) -> None:
    folder = tmp_path / f"hand_{width}"
    folder.mkdir()
    (folder / "seeded.py").write_text(HAND_WRITTEN.replace("{size}", size))
    [served] = load_catalog([folder], cache=tmp_path).values()
    assert derive(served) == Binding(
        "seeded", prompt="positive_prompt", width=width, seed="noise_seed", image="init_image"
    )
