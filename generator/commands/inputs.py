"""``ivkgen inputs``: a workflow's form inputs, offline, and finding one by label or name.

Every input is listed with its index, label, generated attribute name (what ``ivkgen run --set``
and the generated module use), node, field, ``Ivk*`` type, whether it is required and its value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ivkgen.generator.commands.errors import CommandError
from ivkgen.generator.naming import input_names
from ivkgen.generator.terminal import safe
from ivkgen.runtime.errors import InputLookupError
from ivkgen.runtime.workflow.blockers import unknown_node_blockers
from ivkgen.runtime.workflow.catalog import Catalog
from ivkgen.runtime.workflow.definition import WorkflowDefinition
from ivkgen.runtime.workflow.form import IvkWorkflowInput
from ivkgen.runtime.workflow.handle import WorkflowHandle

RULE = "=" * 60


@dataclass(frozen=True)
class NamedInput:
    """A form input with its attribute name in the generated module."""

    name: str
    entry: IvkWorkflowInput

    def describe(self) -> str:
        """``[7] 'Model' (model)``: how messages name the input."""
        return f"[{self.entry.input_index}] {self.entry.label!r} ({self.name})"


def load_handle(path: str | Path, fields: str | Path | None = None) -> WorkflowHandle[None]:
    """A handle on the workflow file at ``path`` (``WorkflowError`` if the file is no workflow),
    with the node catalog ``ivkgen fields`` wrote into ``fields`` (default: the bundled one)."""
    catalog = None
    if fields is not None:
        try:
            catalog = Catalog.from_dir(fields)
        except (OSError, ImportError) as exc:
            raise CommandError(
                f"--fields {fields}: no node catalog there ({exc}); write one with ivkgen fields "
                "--server URL -o DIR"
            ) from None
    return WorkflowHandle(WorkflowDefinition.from_file(path), catalog)


def named_inputs(handle: WorkflowHandle[Any]) -> list[NamedInput]:
    """The handle's inputs in form order, with their attribute names."""
    inputs = handle.list_inputs()
    return [
        NamedInput(name, entry)
        for name, entry in zip(input_names(handle.definition, inputs), inputs, strict=True)
    ]


def find_named(handle: WorkflowHandle[Any], key: str) -> NamedInput:
    """The input whose attribute name or label is ``key`` (labels also case-insensitively)."""
    named = named_inputs(handle)
    for found in (
        [n for n in named if n.name == key],
        [n for n in named if n.entry.label == key],
        [n for n in named if n.entry.label.casefold() == key.casefold()],
    ):
        if len(found) == 1:
            return found[0]
        if found:
            listing = ", ".join(n.describe() for n in found)
            raise InputLookupError(
                f"{len(found)} inputs of workflow {handle.definition.name!r} are labelled "
                f"{key!r}: {listing}; use the attribute name in parentheses"
            )
    listing = ", ".join(f"{n.name} ({n.entry.label})" for n in named) or "none"
    raise InputLookupError(
        f"workflow {handle.definition.name!r} has no input {key!r}; its inputs are: {listing}"
    )


def current_value(entry: IvkWorkflowInput) -> Any:
    """The input's value as JSON data (None when unset or incomplete)."""
    try:
        return entry.field.to_json_dict()
    except ValueError:
        return None


def as_json(handle: WorkflowHandle[Any]) -> dict[str, Any]:
    """The listing as JSON-ready data."""
    definition = handle.definition
    return {
        "name": definition.name,
        "description": definition.description,
        "version": definition.version,
        "author": definition.author,
        "inputs": [
            {
                "index": n.entry.input_index,
                "label": n.entry.label,
                "name": n.name,
                "node_name": n.entry.node_name,
                "node_id": n.entry.node_id,
                "field": n.entry.field_name,
                "type": type(n.entry.field).__name__,
                "required": n.entry.required,
                "value": current_value(n.entry),
            }
            for n in named_inputs(handle)
        ],
        "unknown_nodes": [
            {"node_id": b.node_id, "node_type": b.node_type}
            for b in unknown_node_blockers(definition, handle.catalog)
        ],
    }


def as_text(handle: WorkflowHandle[Any]) -> str:
    """The listing for a terminal, in the layout of the dynamic API's first use case."""
    definition = handle.definition
    named = named_inputs(handle)
    lines = [
        f"Workflow: {definition.name}",
        f"Description: {definition.description}",
        f"Version: {definition.version}",
        f"Author: {definition.author}",
        "",
        f"Total configurable inputs: {len(named)}",
        RULE,
    ]
    for item in named:
        entry = item.entry
        value = current_value(entry)
        lines += [
            "",
            f"[{entry.input_index}] {entry.label}",
            f"  Name: {item.name}",
            f"  Node: {entry.node_name} ({entry.node_id})",
            f"  Field: {entry.field_name}",
            f"  Type: {type(entry.field).__name__}",
            f"  Required: {entry.required}",
        ]
        if value is not None:
            lines.append(f"  Current Value: {_short(value)}")
    missing = [n for n in named if n.entry.required and current_value(n.entry) is None]
    if missing:
        lines += ["", "Required inputs still needed:"]
        lines += [f"  {n.describe()}" for n in missing]
    unknown = unknown_node_blockers(definition, handle.catalog)
    if unknown:
        lines += ["", "Node types the server must provide (their inputs are typed from values):"]
        lines += [f"  {b.node_type} (node {b.node_id})" for b in unknown]
    return "\n".join(safe(line) for line in lines)


def _short(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def inputs_command(workflow: str, *, as_json_output: bool, fields: str | None = None) -> int:
    handle = load_handle(workflow, fields)
    if as_json_output:
        print(json.dumps(as_json(handle), indent=2))
    else:
        print(as_text(handle))
    return 0
