"""The hand-written Ivk primitives and the helpers of the generated struct classes."""

from __future__ import annotations

from typing import Any

import pytest
from ivkgen.bundled import (
    BaseModelType,
    IvkBoardField,
    IvkBoundingBoxField,
    IvkColorField,
    IvkConditioningField,
    IvkImageField,
    IvkLatentsField,
    IvkModelIdentifierField,
    IvkTensorField,
    IvkVideoField,
)
from ivkgen.runtime._values import (
    IvkBooleanField,
    IvkCollectionField,
    IvkEnumField,
    IvkFloatField,
    IvkIntegerField,
    IvkSchedulerField,
    IvkStringField,
)
from pydantic import ValidationError


def test_integer_coerces_numeric_strings() -> None:
    field = IvkIntegerField(value="1024")
    assert field.value == 1024
    field.value = "768"  # type: ignore[assignment]
    assert field.to_json_dict() == 768


def test_integer_rejects_non_numbers_and_keeps_the_old_value() -> None:
    field = IvkIntegerField(value=5)
    with pytest.raises(ValidationError):
        field.value = "five"  # type: ignore[assignment]
    assert field.value == 5


@pytest.mark.parametrize(
    ("limits", "bad", "named"),
    [
        ({"ge": 1}, 0, "ge=1"),
        ({"le": 10}, 11, "le=10"),
        ({"gt": 0}, 0, "gt=0"),
        ({"lt": 5}, 5, "lt=5"),
        ({"multiple_of": 8}, 65, "multiple_of=8"),
    ],
)
def test_numeric_constraints_name_the_broken_one(
    limits: dict[str, Any], bad: int, named: str
) -> None:
    field = IvkIntegerField(value=None, **limits)
    with pytest.raises(ValueError, match=named):
        field.value = bad
    assert field.value is None
    with pytest.raises(ValueError, match=named):
        IvkIntegerField(value=bad, **limits)


def test_float_keeps_integer_values_as_floats() -> None:
    field = IvkFloatField(value=7, ge=1.0, le=20.0)
    assert field.value == 7.0 and isinstance(field.value, float)
    assert field.to_json_dict() == 7.0
    with pytest.raises(ValueError, match="le=20"):
        field.value = 20.5


def test_float_multiple_of_tolerates_rounding() -> None:
    field = IvkFloatField(value=0.3, multiple_of=0.1)
    assert field.value == pytest.approx(0.3)
    with pytest.raises(ValueError, match=r"multiple_of=0.1"):
        field.value = 0.25


def test_string_lengths_and_number_coercion() -> None:
    field = IvkStringField(value="a prompt", min_length=2, max_length=10)
    with pytest.raises(ValueError, match="min_length=2"):
        field.value = "a"
    with pytest.raises(ValueError, match="max_length=10"):
        field.value = "x" * 11
    field.value = 42  # type: ignore[assignment]
    assert field.value == "42"


def test_boolean_coerces_like_pydantic() -> None:
    field = IvkBooleanField(value="true")
    assert field.value is True
    with pytest.raises(ValidationError):
        field.value = "maybe"  # type: ignore[assignment]


def test_enum_and_scheduler_accept_only_their_choices() -> None:
    enum = IvkEnumField(value="box", choices=("nearest", "box"))
    with pytest.raises(ValueError, match="choices"):
        enum.value = "bogus"
    scheduler = IvkSchedulerField(value="euler", choices=("euler", "ddim"))
    scheduler.value = "ddim"
    assert scheduler.to_json_dict() == "ddim"
    with pytest.raises(ValueError, match="'dpmpp_9' breaks choices"):
        scheduler.value = "dpmpp_9"


def test_collection_checks_length_and_items() -> None:
    field = IvkCollectionField(value=[1, 2], min_length=1, ge=0)
    assert field.to_json_dict() == [1, 2]
    with pytest.raises(ValueError, match="min_length=1"):
        field.value = []
    with pytest.raises(ValueError, match="ge=0"):
        field.value = [3, -1]
    assert field.value == [1, 2]


def test_constraints_stay_out_of_the_json() -> None:
    field = IvkIntegerField(value=64, ge=64, multiple_of=8)
    assert field.to_json_dict() == 64
    assert field.constraints() == {"ge": 64, "multiple_of": 8}
    assert IvkIntegerField().to_json_dict() is None
    assert IvkImageField(image_name="a.png").constraints() == {}  # structs have none


@pytest.mark.parametrize(
    ("cls", "key"),
    [
        (IvkImageField, "image_name"),
        (IvkVideoField, "video_name"),
        (IvkBoardField, "board_id"),
        (IvkLatentsField, "latents_name"),
        (IvkTensorField, "tensor_name"),
        (IvkConditioningField, "conditioning_name"),
    ],
)
def test_resource_fields_expose_value(cls: type[Any], key: str) -> None:
    field = cls(value="res-1")
    assert field.value == "res-1"
    assert field.to_json_dict() == {key: "res-1"}
    field.value = "res-2"
    assert field.to_json_dict() == {key: "res-2"}
    assert cls.model_validate({key: "res-3"}).value == "res-3"
    assert cls().value is None and cls().to_json_dict() is None


def test_resource_value_is_validated() -> None:
    field = IvkImageField(value="x.png")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        field.value = 3.5  # type: ignore[assignment]
    assert field.to_json_dict() == {"image_name": "x.png"}


def test_latents_keeps_its_optional_seed() -> None:
    field = IvkLatentsField(latents_name="l1", seed=7)
    assert field.to_json_dict() == {"latents_name": "l1", "seed": 7}


def test_model_identifier_has_properties_and_no_value() -> None:
    field = IvkModelIdentifierField()
    assert not hasattr(field, "value")
    assert field.to_json_dict() is None
    field = IvkModelIdentifierField(
        key="k", hash="blake3:h", name="Tiny", base="sd-1", type="main", submodel_type=None
    )
    assert field.base == BaseModelType.sd_1
    assert field.to_json_dict() == {
        "key": "k",
        "hash": "blake3:h",
        "name": "Tiny",
        "base": "sd-1",
        "type": "main",
        "submodel_type": None,
    }
    with pytest.raises(ValidationError):
        field.base = "not-a-base"  # type: ignore[assignment]


def test_partial_struct_names_missing_keys() -> None:
    field = IvkModelIdentifierField(key="k")
    with pytest.raises(ValueError, match="missing base, hash, name, type"):
        field.to_json_dict()


def test_color_helpers() -> None:
    color = IvkColorField(r=1, g=2, b=3, a=4)
    assert not hasattr(color, "value")
    color.set_rgba(255, 128, 0)
    assert color.to_json_dict() == {"r": 255, "g": 128, "b": 0, "a": 255}
    color.set_hex("#10203040")
    assert color.to_json_dict() == {"r": 16, "g": 32, "b": 48, "a": 64}
    color.set_hex("A0B0C0")
    assert (color.r, color.g, color.b, color.a) == (160, 176, 192, 255)
    with pytest.raises(ValueError, match="#RRGGBB"):
        color.set_hex("#12345")
    with pytest.raises(ValueError, match="#RRGGBB"):
        color.set_hex("#GG0000")
    with pytest.raises(ValidationError):
        color.r = 256


def test_bounding_box_helper() -> None:
    box = IvkBoundingBoxField()
    box.set_box(0, 10, 512, 256)
    assert box.to_json_dict() == {"x_min": 0, "y_min": 10, "x_max": 512, "y_max": 256}
    with pytest.raises(ValueError, match="max below min"):
        box.set_box(10, 0, 5, 5)
    box.x_max = 640
    assert box.x_max == 640
