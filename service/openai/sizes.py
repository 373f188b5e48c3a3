"""OpenAI's ``size`` (``WxH`` or ``auto``) over a workflow's width and height inputs."""

from __future__ import annotations

import re

from ivkgen.service.openai.binding import Binding
from ivkgen.service.openai.errors import OpenAIError
from pydantic import BaseModel
from pydantic.fields import FieldInfo

_SIZE = re.compile(r"^\s*(\d+)\s*x\s*(\d+)\s*$")
_BOUNDS = (("gt", "> {}"), ("ge", ">= {}"), ("lt", "< {}"), ("le", "<= {}"))


def requested_size(size: str | None, binding: Binding) -> dict[str, int]:
    """The width and height inputs ``size`` sets (none for ``auto``, no size, or a workflow
    without size inputs: the served defaults)."""
    if size is None or size == "auto" or not binding.sized:
        return {}
    found = _SIZE.match(size)
    if found is None:
        raise OpenAIError(400, f"size {size!r} is not WIDTHxHEIGHT or auto", param="size")
    assert binding.width is not None and binding.height is not None
    return {binding.width: int(found.group(1)), binding.height: int(found.group(2))}


def _rule(info: FieldInfo) -> str:
    """What a number input accepts, e.g. ``> 0 and a multiple of 8``."""
    parts = []
    for constraint in info.metadata:
        step = getattr(constraint, "multiple_of", None)
        if step is not None:
            parts.append(f"a multiple of {step}")
        for name, text in _BOUNDS:
            bound = getattr(constraint, name, None)
            if bound is not None:
                parts.append(text.format(bound))
    return " and ".join(parts) or "any whole number"


def sizes_that_work(model: type[BaseModel], binding: Binding) -> str:
    """Which sizes the width and height inputs accept, and their served default."""
    assert binding.width is not None and binding.height is not None
    width, height = model.model_fields[binding.width], model.model_fields[binding.height]
    default = f"{width.default}x{height.default}" if not width.is_required() else "none"
    return (
        f"sizes that work: WIDTHxHEIGHT, the width {_rule(width)}; the height "
        f"{_rule(height)} (default {default})"
    )


__all__ = ["requested_size", "sizes_that_work"]
