"""Input specs for the fields of a node whose type the catalog does not know.

The GUI loads such a workflow and marks the node; ivkgen lists its form inputs too. With no
schema, a field is typed as loosely as its saved value allows: a bool, int, float or string as
that, an object with ``image_name``/``video_name``/``board_id`` or a model's ``key`` as that
resource, a list as a list, anything else (or no value) as ``Any``. The spec's description says
so; :func:`loose_note` is that sentence.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ivkgen.runtime._workflow.catalog import InputSpec

_RESOURCE_KEYS = (
    ("image_name", "ImageField"),
    ("video_name", "VideoField"),
    ("board_id", "BoardField"),
    ("key", "ModelIdentifierField"),
)


def loose_note(node_type: str) -> str:
    """Why an input is typed from its saved value."""
    return (
        f"typed from its saved value: the node catalog has no type {node_type!r} (install the "
        "node pack on the server and load its catalog with ivkgen fields --server)"
    )


def _value_type(value: Any) -> tuple[str, str]:
    """``(type expression, Ivk class)`` for a saved value."""
    if isinstance(value, bool):
        return "bool", "IvkBooleanField"
    if isinstance(value, int):
        return "int", "IvkIntegerField"
    if isinstance(value, float):
        return "float", "IvkFloatField"
    if isinstance(value, str):
        return "str", "IvkStringField"
    if isinstance(value, list):
        return "list[Any]", "IvkCollectionField"
    if isinstance(value, Mapping):
        for key, type_name in _RESOURCE_KEYS:
            if key in value:
                return type_name, f"Ivk{type_name}"
    return "Any", "IvkAnyField"


def loose_spec(node_type: str, field_name: str, saved: Mapping[str, Any]) -> InputSpec:
    """The spec of input ``field_name`` of an unknown ``node_type``, from its saved slot."""
    type_name, ivk_class = _value_type(saved.get("value"))
    return InputSpec(
        name=field_name,
        type=type_name,
        ivk_class=ivk_class,
        required=False,
        input="any",
        connection_only=False,
        description=loose_note(node_type),
    )
