"""``ivkgen inputs``: a workflow's form inputs, offline.

Every input is listed with its index, label, generated attribute name (what ``ivkgen run --set``
and the generated module use), node, field, ``Ivk*`` type, whether it is required and its value:
as a table on a terminal, as plain lines anywhere else, as JSON with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from ivkgen.cli.options import Subparsers, add_fields, add_workflow
from ivkgen.cli.terminal import safe

if TYPE_CHECKING:
    from ivkgen.cli.workflow_inputs import Form
    from rich.console import Console

RULE = "=" * 60


def add_parser(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "inputs",
        help="list a workflow's form inputs (no server needed)",
        description="Name, description, version and author of a workflow, then each form "
        "input: index, label, attribute name (for run --set), node, field, type, required, "
        "current value.",
    )
    add_workflow(parser)
    parser.add_argument("--json", action="store_true", help="print JSON for machines")
    add_fields(parser)
    parser.set_defaults(command=inputs)


def inputs(args: argparse.Namespace) -> int:
    from ivkgen.cli.workflow_inputs import load_form

    form = load_form(args.workflow, args.fields)
    if args.json:
        print(json.dumps(as_json(form), indent=2))
    elif sys.stdout.isatty():
        from ivkgen.cli.console import console

        print_table(form, console(sys.stdout))
    else:
        print(as_text(form))
    return 0


def as_json(form: Form) -> dict[str, Any]:
    """The listing as JSON-ready data."""
    from ivkgen.cli.workflow_inputs import current_value, named_inputs
    from ivkgen.runtime._workflow.blockers import unknown_node_blockers

    definition = form.definition
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
            for n in named_inputs(form)
        ],
        "unknown_nodes": [
            {"node_id": b.node_id, "node_type": b.node_type}
            for b in unknown_node_blockers(definition, form.catalog)
        ],
    }


def _heading(form: Form) -> list[str]:
    definition = form.definition
    return [
        f"Workflow: {definition.name}",
        f"Description: {definition.description}",
        f"Version: {definition.version}",
        f"Author: {definition.author}",
    ]


def _notes(listing: dict[str, Any]) -> list[str]:
    """What the listing's inputs and nodes still need, after the inputs."""
    lines: list[str] = []
    missing = [i for i in listing["inputs"] if i["required"] and i["value"] is None]
    if missing:
        lines += ["", "Required inputs still needed:"]
        lines += [f"  [{i['index']}] {i['label']!r} ({i['name']})" for i in missing]
    if listing["unknown_nodes"]:
        lines += ["", "Node types the server must provide (their inputs are typed from values):"]
        lines += [f"  {n['node_type']} (node {n['node_id']})" for n in listing["unknown_nodes"]]
    return lines


def as_text(form: Form) -> str:
    """The listing as plain lines, in the layout of the dynamic API's first use case."""
    listing = as_json(form)
    lines = [*_heading(form), "", f"Total configurable inputs: {len(listing['inputs'])}", RULE]
    for item in listing["inputs"]:
        lines += [
            "",
            f"[{item['index']}] {item['label']}",
            f"  Name: {item['name']}",
            f"  Node: {item['node_name']} ({item['node_id']})",
            f"  Field: {item['field']}",
            f"  Type: {item['type']}",
            f"  Required: {item['required']}",
        ]
        if item["value"] is not None:
            lines.append(f"  Current Value: {_short(item['value'])}")
    return "\n".join(safe(line) for line in lines + _notes(listing))


def print_table(form: Form, out: Console) -> None:
    """The listing on a terminal: the workflow's heading, then one table row per input."""
    from ivkgen.cli.console import plain
    from rich.table import Table

    listing = as_json(form)
    for line in _heading(form):
        out.print(plain(line))
    table = Table(title=plain(f"{len(listing['inputs'])} configurable inputs"))
    for column in ("#", "label", "name", "node", "field", "type", "required", "value"):
        table.add_column(column, overflow="fold")
    for item in listing["inputs"]:
        value = "" if item["value"] is None else _short(item["value"])
        cells = (item["index"], item["label"], item["name"], item["node_name"], item["field"])
        table.add_row(*map(plain, (*cells, item["type"], item["required"], value)))
    out.print(table)
    for line in _notes(listing):
        out.print(plain(line))


def _short(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
