"""Which inputs of a served workflow the OpenAI Images fields go to, derived from its Inputs.

The prompt goes to the positive-prompt input (a text input whose name, its form label, or node
field says prompt, not negative), ``size`` to the width and height inputs, a request's ``seed``
to a seed input, ``image`` and ``mask`` to the image inputs (the mask is the one named mask). A
workflow with a prompt serves generations, one with an image serves edits; one with neither is
not served. A binding file (TOML, one table per workflow, keys ``prompt``, ``width``,
``height``, ``seed``, ``image``, ``mask`` naming input attributes, ``""`` for none) overrides
the guess.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from ivkgen.runtime._errors import ServeSetupError
from ivkgen.runtime._typed import At
from ivkgen.service.catalog import ServedWorkflow
from pydantic.fields import FieldInfo

ROLES = ("prompt", "width", "height", "seed", "image", "mask")


@dataclass(frozen=True)
class Binding:
    """One workflow's binding: the input attribute of each OpenAI field, None where it has none."""

    workflow: str
    prompt: str | None = None
    width: str | None = None
    height: str | None = None
    seed: str | None = None
    image: str | None = None
    mask: str | None = None

    @property
    def generations(self) -> bool:
        return self.prompt is not None

    @property
    def edits(self) -> bool:
        return self.image is not None

    @property
    def sized(self) -> bool:
        return self.width is not None and self.height is not None


def _words(attribute: str, at: At | None) -> set[str]:
    """The words of an input's attribute (its form label, snake-cased) and its node field."""
    return set(re.split(r"[^a-z0-9]+", f"{attribute} {at.field if at else ''}".lower())) - {""}


def _at(info: FieldInfo) -> At | None:
    return next((m for m in info.metadata if isinstance(m, At)), None)


def _pick(candidates: list[str], preferred: Callable[[str], bool]) -> str | None:
    """The one candidate, or the one preferred among several; None when still ambiguous."""
    if len(candidates) == 1:
        return candidates[0]
    chosen = [c for c in candidates if preferred(c)]
    return chosen[0] if len(chosen) == 1 else None


def derive(served: ServedWorkflow) -> Binding:
    """The binding guessed from the workflow's requestable inputs (see the module docstring)."""
    declared = served.workflow.inputs_class.model_fields
    requested = served.request_model.model_fields
    words = {a: _words(a, _at(declared[a])) for a in requested if a in declared}
    annotation = {a: requested[a].annotation for a in words}
    media = {a for a in words if served.media.get(a) == "image"}
    texts = [a for a in words if annotation[a] is str and a not in media]
    numbers = [a for a in words if annotation[a] is int]
    prompts = [a for a in texts if "prompt" in words[a] and "negative" not in words[a]]
    masks = [a for a in media if "mask" in words[a]]
    images = [a for a in media if a not in masks]

    def named(word: str) -> Callable[[str], bool]:
        return lambda attribute: attribute == word

    return Binding(
        served.name,
        prompt=_pick(prompts, lambda a: "positive" in words[a]),
        width=_pick([a for a in numbers if "width" in words[a]], named("width")),
        height=_pick([a for a in numbers if "height" in words[a]], named("height")),
        seed=_pick([a for a in numbers if "seed" in words[a]], named("seed")),
        image=_pick(images, named("image")),
        mask=_pick(masks, named("mask")),
    )


def read_overrides(path: Path) -> dict[str, dict[str, str]]:
    """The tables of a binding file, by workflow name."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ServeSetupError(f"{path}: cannot read the binding file: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ServeSetupError(f"{path}: not a TOML file: {exc}") from None
    found: dict[str, dict[str, str]] = {}
    for workflow, table in data.items():
        if not isinstance(table, dict):
            raise ServeSetupError(f"{path}: [{workflow}] must be a table of input names")
        for role, value in table.items():
            if role not in ROLES or not isinstance(value, str):
                raise ServeSetupError(
                    f"{path}: [{workflow}] {role} = {value!r}: expected one of "
                    f"{', '.join(ROLES)} naming an input (\"\" for none)"
                )
        found[workflow] = dict(table)
    return found


def _override(
    served: ServedWorkflow, guess: Binding, table: Mapping[str, str], where: str
) -> Binding:
    requested = served.request_model.model_fields
    for role, attribute in table.items():
        if attribute and attribute not in requested:
            raise ServeSetupError(
                f"{where}: [{served.name}] {role} = {attribute!r}: the workflow has no "
                f"requestable input {attribute!r} (its inputs: {', '.join(requested)})"
            )
    changes: dict[str, Any] = {role: attribute or None for role, attribute in table.items()}
    return replace(guess, **changes)


def bindings_for(
    catalog: Mapping[str, ServedWorkflow], path: Path | None = None
) -> tuple[dict[str, Binding], list[str]]:
    """Each servable workflow's binding, and one warning line per workflow left out."""
    overrides = read_overrides(path) if path is not None else {}
    for workflow in overrides:
        if workflow not in catalog:
            raise ServeSetupError(
                f"{path}: [{workflow}]: no served workflow of that name "
                f"(served: {', '.join(catalog)})"
            )
    bound: dict[str, Binding] = {}
    warnings = []
    for name, served in catalog.items():
        binding = derive(served)
        if name in overrides:
            binding = _override(served, binding, overrides[name], str(path))
        if binding.generations or binding.edits:
            bound[name] = binding
        else:
            warnings.append(
                f"openai: workflow {name!r} is not an OpenAI model: it has no prompt input (a "
                "text input labelled prompt) and no image input; bind one with --openai-binding"
            )
    return bound, warnings


def explain(binding: Binding) -> str:
    """One line saying what a workflow's binding is."""
    kinds = (("generations", binding.generations), ("edits", binding.edits))
    serves = " and ".join(kind for kind, on in kinds if on) or "nothing"
    roles = ", ".join(f"{f.name}={getattr(binding, f.name) or '-'}" for f in fields(binding)[1:])
    return f"{binding.workflow}: {serves} ({roles})"


__all__ = ["ROLES", "Binding", "bindings_for", "derive", "explain", "read_overrides"]
