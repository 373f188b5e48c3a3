"""The naming rules, as a table."""

from __future__ import annotations

import keyword

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ivkgen.generator.naming import class_name, input_name, module_name, numbered


@pytest.mark.parametrize(
    ("label", "node_label", "field", "expected"),
    [
        ("Positive Prompt", "Positive", "value", "positive_prompt"),
        ("Output Width", "", "value", "output_width"),
        ("", "Noise", "width", "noise_width"),
        ("", "", "cfg_scale", "cfg_scale"),
        ("CFG Scale", "", "cfg_scale", "cfg_scale"),
        ("outputWidth", "", "value", "output_width"),
        ("SDXL Model", "", "model", "sdxl_model"),
        ("Größe (é)", "", "value", "gro_e_e"),
        ("  ", "", "board", "board"),
        ("日本語", "", "value", "value"),
        ("!!!", "###", "width", "width"),
        ("2nd pass", "", "value", "input_2nd_pass"),
        ("class", "", "value", "class_"),
        ("type", "", "value", "type_"),
        ("model", "", "model", "model"),
        ("Model Config", "", "model", "model_config_"),
        ("model_fields", "", "x", "model_fields_"),
        ("json", "", "value", "json_"),
        ('x"""; import os #', "", "value", "x_import_os"),
        ("a\\nb\nc", "", "value", "a_nb_c"),
        ("Locations", "", "value", "locations_"),
        ("Apply To", "", "value", "apply_to_"),
        ("", "Model", "json_schema", "model_json_schema_"),
        ("model_dump", "", "value", "model_dump_"),
        ("Field", "", "value", "field"),
    ],
)
def test_input_names(label: str, node_label: str, field: str, expected: str) -> None:
    assert input_name(label, node_label, field) == expected


def test_clashes_are_numbered_in_order() -> None:
    assert numbered(["width", "height", "width", "width", "type_", "type_"]) == [
        "width",
        "height",
        "width_2",
        "width_3",
        "type_",
        "type_2",
    ]


@pytest.mark.parametrize(
    ("workflow", "stem", "module", "cls"),
    [
        ("SDXL then FLUX", "sdxl-flux-refine", "sdxl_flux_refine", "SdxlFluxRefine"),
        ("", "sdxl-flux-refine", "sdxl_flux_refine", "SdxlFluxRefine"),
        ("x", "Text to Image - SD1.5", "text_to_image_sd1_5", "TextToImageSd15"),
        ("x", "3D Render", "workflow_3d_render", "Workflow3dRender"),
        ("SDXL then FLUX", "???", "sdxl_then_flux", "SdxlThenFlux"),
        ("???", "!!!", "workflow", "Workflow2"),
        ("x", "workflow", "workflow", "Workflow2"),
        ("x", "import", "import_", "Import"),
        ("x", "fields", "fields_workflow", "FieldsWorkflow"),
        ("x", "fields_6_14_2", "fields_6_14_2_workflow", "Fields6142Workflow"),
        ("x", "at", "at", "At2"),
        ("x", "output image", "output_image", "OutputImage2"),
        ("x", "ivk board field", "ivk_board_field", "IvkBoardField2"),
    ],
)
def test_module_and_class_names(workflow: str, stem: str, module: str, cls: str) -> None:
    imported = {"At", "ClassVar", "IvkBoardField", "OutputImage", "Workflow", "WorkflowInputs"}
    assert module_name(workflow, stem) == module
    assert class_name(module, imported) == cls


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # no timing checks
@given(st.text(), st.text(), st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True))
def test_every_label_gives_a_valid_identifier(label: str, node_label: str, field: str) -> None:
    name = input_name(label, node_label, field)
    assert name.isidentifier() and name.isascii()
    assert not keyword.iskeyword(name)
    assert not name.startswith("_")
    assert input_name(label, node_label, field) == name
