"""Python names from user text: workflow names, form labels, node labels and field names.

Text is NFKC-normalised, accents are dropped and anything that is not an ASCII letter or digit
separates words. Keywords, builtins and names pydantic reserves get a trailing ``_``; a leading
digit gets a prefix; clashes are numbered in order (``width``, ``width_2``), never hashed.
"""

from __future__ import annotations

import builtins
import keyword
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ivkgen.runtime._typed import WorkflowInputs, WorkflowOutputs
from pydantic import BaseModel

if TYPE_CHECKING:
    from ivkgen.runtime._workflow.definition import WorkflowDefinition
    from ivkgen.runtime._workflow.form import IvkWorkflowInput

_CHUNK = re.compile(r"[A-Za-z0-9]+", re.ASCII)
_ACRONYM = re.compile(r"(LoRAs?|DoRAs?|LyCORIS)", re.ASCII)
"""Mixed-case acronyms kept whole: ``LoRAs`` -> ``loras``, ``LoRAWeight`` -> ``lora_weight``."""
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])(?![A-Z]s(?:[^a-z]|$))")
"""Camel-case word breaks; a plural acronym stays whole (``VAEs`` -> ``vaes``)."""
_BASES = (BaseModel, WorkflowInputs, WorkflowOutputs)
_RESERVED = (
    frozenset(keyword.kwlist)
    | frozenset(keyword.softkwlist)
    | frozenset(dir(builtins))
    | frozenset(name for base in _BASES for name in dir(base) if not name.startswith("_"))
)
"""Names an attribute must not take: keywords, builtins and the base classes' members."""
_FIELDS_PACKAGE = re.compile(r"fields(_\d+)*", re.ASCII)
"""Module names the fields package beside the modules could take (``fields_6_14_2``)."""


def words(text: str) -> list[str]:
    """The ASCII words of ``text``: ``"CFGScale (é)"`` -> ``["CFG", "Scale", "e"]``."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text))
    ascii_text = "".join(c for c in decomposed if not unicodedata.combining(c))
    return [
        word
        for chunk in _CHUNK.findall(ascii_text)
        for part in _ACRONYM.split(chunk)
        for word in ([part] if _ACRONYM.fullmatch(part) else _CAMEL.split(part))
        if word
    ]


def snake(text: str, *, digit_prefix: str) -> str:
    """``snake_case`` of ``text``; empty when the text has no ASCII letter or digit."""
    name = "_".join(word.lower() for word in words(text))
    if name[:1].isdigit():
        name = f"{digit_prefix}_{name}"
    return f"{name}_" if name in _RESERVED or name.startswith("model_") else name


def pascal(text: str, *, digit_prefix: str) -> str:
    """``PascalCase`` of ``text``; empty when the text has no ASCII letter or digit."""
    name = "".join(word[:1].upper() + word[1:].lower() for word in words(text))
    return f"{digit_prefix}{name}" if name[:1].isdigit() else name


def first_name(candidates: Iterable[str], *, digit_prefix: str, fallback: str) -> str:
    """The snake name of the first candidate that has one, else ``fallback``."""
    for text in candidates:
        if name := snake(text, digit_prefix=digit_prefix):
            return name
    return fallback


def input_name(label: str, node_label: str, field_name: str) -> str:
    """An input's attribute name: the form label, else node label + field, else the field name."""
    candidates = [label, f"{node_label} {field_name}" if node_label.strip() else "", field_name]
    return first_name(candidates, digit_prefix="input", fallback="input")


def input_names(definition: WorkflowDefinition, inputs: Sequence[IvkWorkflowInput]) -> list[str]:
    """The attribute names of a workflow's form inputs in its generated module, in form order."""
    nodes = {node["id"]: node["data"] for node in definition.nodes}
    return numbered(
        input_name(
            nodes[entry.node_id]["inputs"][entry.field_name].get("label") or "",
            nodes[entry.node_id].get("label") or "",
            entry.field_name,
        )
        for entry in inputs
    )


def module_name(workflow_name: str, file_stem: str) -> str:
    """A workflow module's name: the file's name (as given to `make gen`), else the workflow's;
    a name the fields package beside it could have gets ``_workflow`` (``fields_workflow``)."""
    name = first_name([file_stem, workflow_name], digit_prefix="workflow", fallback="workflow")
    return f"{name}_workflow" if _FIELDS_PACKAGE.fullmatch(name) else name


def class_name(module: str, imported: Iterable[str] = ()) -> str:
    """The workflow class name of a module name: ``sdxl_flux_refine`` -> ``SdxlFluxRefine``;
    numbered (``Workflow2``) when it, or its ``Inputs``/``Outputs`` class, would be one of the
    ``imported`` names (``workflow.json`` would shadow the base class ``Workflow``)."""
    base = pascal(module.rstrip("_"), digit_prefix="Workflow") or "Workflow"
    taken = set(imported)
    name, number = base, 1
    while {name, f"{name}Inputs", f"{name}Outputs"} & taken:
        number += 1
        name = f"{base}{number}"
    return name


def numbered(names: Iterable[str]) -> list[str]:
    """Make names unique in order: the second ``width`` becomes ``width_2``."""
    taken: set[str] = set()
    tried: dict[str, int] = {}  # the last number tried for a name: the ones below are taken
    unique = []
    for name in names:
        candidate, number = name, tried.get(name, 1)
        while candidate in taken:
            number += 1
            candidate = f"{name.rstrip('_')}_{number}"
        tried[name] = number
        taken.add(candidate)
        unique.append(candidate)
    return unique
