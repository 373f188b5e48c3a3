"""The request model of a served workflow: its module's Inputs, reshaped by the operator.

``--set WORKFLOW.INPUT=VALUE`` changes an input's served default (a request may override it),
``--fix WORKFLOW.INPUT=VALUE`` pins it and takes it out of the request, ``--limit
WORKFLOW.INPUT=MIN..MAX`` narrows a number's bounds. The values take the syntax of ``ivkgen run
--set``: JSON where the input holds a list or a structure, ``#RRGGBB`` for a colour, a model's
name for a model, else the text itself.
"""

from __future__ import annotations

import contextlib
import json
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from ivkgen.runtime._errors import ServeSetupError
from ivkgen.runtime._typed import At, WorkflowInputs
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model
from pydantic.fields import FieldInfo


class RequestBase(BaseModel):
    """The base of every request model: unknown inputs are refused by name."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


@dataclass
class Shaping:
    """One workflow's operator flags, by input attribute (values as given on the command line)."""

    defaults: dict[str, str] = field(default_factory=dict)
    fixed: dict[str, str] = field(default_factory=dict)
    limits: dict[str, tuple[str, str]] = field(default_factory=dict)


def parse_shaping(
    sets: Sequence[str], fixes: Sequence[str], limits: Sequence[str], names: Sequence[str]
) -> dict[str, Shaping]:
    """The flags grouped by workflow; a flag naming no served workflow is an error."""
    found: dict[str, Shaping] = {name: Shaping() for name in names}
    for option, values in (("--set", sets), ("--fix", fixes), ("--limit", limits)):
        for text in values:
            target, sep, value = text.partition("=")
            workflow, dot, attribute = target.partition(".")
            if not (sep and dot and workflow and attribute):
                raise ServeSetupError(f"{option} {text}: expected WORKFLOW.INPUT=VALUE")
            if workflow not in found:
                served = ", ".join(sorted(found)) or "none"
                raise ServeSetupError(
                    f"{option} {text}: no served workflow {workflow!r} (served: {served})"
                )
            shaping = found[workflow]
            if option == "--limit":
                low, dots, high = value.partition("..")
                if not dots:
                    raise ServeSetupError(f"--limit {text}: expected WORKFLOW.INPUT=MIN..MAX")
                shaping.limits[attribute] = (low, high)
            else:
                (shaping.defaults if option == "--set" else shaping.fixed)[attribute] = value
    return found


def flag_value(annotation: Any, text: str, what: str) -> Any:
    """``text`` as a value of ``annotation`` (see the module docstring), as JSON data."""
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)
    candidates: list[Any] = [text]
    if text.startswith("#") and len(text) == 7:
        rgb = [int(text[i : i + 2], 16) for i in (1, 3, 5)]
        candidates.insert(0, dict(zip("rgb", rgb, strict=True), a=255))
    with contextlib.suppress(ValueError):
        candidates.insert(0, json.loads(text))
    problem = ""
    for candidate in candidates:
        try:
            return adapter.dump_python(adapter.validate_python(candidate), mode="json")
        except (ValidationError, ValueError) as exc:
            problem = problem or _first_error(exc)
    raise ServeSetupError(f"{what}: {problem}")


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and exc.errors():
        return str(exc.errors()[0]["msg"])
    return str(exc)


def request_model(
    name: str, inputs_class: type[WorkflowInputs], shaping: Shaping
) -> tuple[type[BaseModel], dict[str, Any]]:
    """The request model of workflow ``name`` and its fixed values (JSON data by attribute)."""
    known = inputs_class.model_fields
    for attribute in [*shaping.defaults, *shaping.fixed, *shaping.limits]:
        if attribute not in known:
            raise ServeSetupError(
                f"{name}.{attribute}: the workflow has no input {attribute!r} (its inputs: "
                f"{', '.join(known)})"
            )
    fixed = {
        attribute: flag_value(known[attribute].annotation, text, f"--fix {name}.{attribute}")
        for attribute, text in shaping.fixed.items()
    }
    fields: dict[str, Any] = {}
    for attribute, info in known.items():
        if attribute in fixed:
            continue
        fields[attribute] = _shaped_field(name, attribute, info, shaping)
    model = create_model(
        f"{inputs_class.__name__.removesuffix('Inputs')}Request",
        __base__=RequestBase,
        __doc__=inputs_class.__doc__,
        **fields,
    )
    return model, fixed


MEDIA_DESCRIPTION = (
    "an {kind}: a data: URI, a base64 string, an https:// URL of a host the service allows, or "
    "a part of a multipart/form-data request named after the input"
)


def media_kind(annotation: Any) -> str | None:
    """``"image"`` or ``"video"`` for an input that takes a file (its module's ``ImageSource``
    or ``VideoSource``), else None."""
    args = typing.get_args(annotation)
    if bytearray not in args:
        return None
    named = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
    return "video" if any("video_name" in a.model_fields for a in named) else "image"


def model_name_inputs(inputs_class: type[WorkflowInputs]) -> frozenset[str]:
    """The inputs that take a model by its installed name (a model field or a string)."""
    found = set()
    for attribute, info in inputs_class.model_fields.items():
        args = typing.get_args(info.annotation)
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        if str in args and models and media_kind(info.annotation) is None:
            found.add(attribute)
    return frozenset(found)


def media_inputs(inputs_class: type[WorkflowInputs]) -> dict[str, str]:
    """The inputs that take a file: attribute -> ``"image"`` or ``"video"``."""
    found = {a: media_kind(i.annotation) for a, i in inputs_class.model_fields.items()}
    return {attribute: kind for attribute, kind in found.items() if kind is not None}


def _shaped_field(name: str, attribute: str, info: FieldInfo, shaping: Shaping) -> Any:
    """``(annotation, FieldInfo)`` of one request attribute: its default and bounds shaped; a
    file input takes a string (see ``MEDIA_DESCRIPTION``)."""
    kind = media_kind(info.annotation)
    if kind is not None:
        if attribute in shaping.defaults or attribute in shaping.limits:
            raise ServeSetupError(f"{name}.{attribute}: an {kind} input takes no --set or --limit")
        described = Field(description=MEDIA_DESCRIPTION.format(kind=kind))
        if info.is_required():
            return (str, described)
        return (str | None, Field(default=None, description=described.description))
    metadata: list[Any] = [m for m in info.metadata if not isinstance(m, At)]
    annotation: Any = info.annotation
    if attribute in shaping.limits:
        low, high = shaping.limits[attribute]
        what = f"--limit {name}.{attribute}={low}..{high}"
        number = annotation if annotation in (int, float) else None
        if number is None:
            raise ServeSetupError(f"{what}: the input is not a number")
        bounds = Field(ge=flag_value(number, low, what), le=flag_value(number, high, what))
        metadata.append(bounds)
    if metadata:
        annotation = Annotated[(annotation, *metadata)]
    if attribute in shaping.defaults:
        what = f"--set {name}.{attribute}"
        default = flag_value(annotation, shaping.defaults[attribute], what)
    elif info.is_required():
        return (annotation, Field(description=info.description))
    else:
        default = TypeAdapter(annotation).dump_python(info.default, mode="json")
    try:
        value = TypeAdapter(annotation).validate_python(default)
    except ValidationError as exc:
        raise ServeSetupError(
            f"{name}.{attribute}: the served default {default!r} is outside the input's "
            f"bounds: {_first_error(exc)}"
        ) from None
    return (annotation, Field(default=value, description=info.description))


__all__ = [
    "RequestBase",
    "Shaping",
    "flag_value",
    "media_inputs",
    "media_kind",
    "parse_shaping",
    "request_model",
]
