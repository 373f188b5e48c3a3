"""``ivkgen check``: can this server run this workflow as it is?

Three checks against the server: node types and versions (against the node catalog built from
the server's ``/openapi.json``), the models the workflow names (against the installed models,
with the closest installed candidates), and the form inputs (required values, constraints).
Errors make the check fail; warnings (a node saved by an older InvokeAI) do not.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ivkgen.generator.commands.inputs import NamedInput, named_inputs
from ivkgen.runtime.client import InvokeAIClient
from ivkgen.runtime.errors import WorkflowError
from ivkgen.runtime.jobs.resolve import candidates, find_model, model_fields
from ivkgen.runtime.server.dto import ModelConfig
from ivkgen.runtime.workflow.catalog import Catalog
from ivkgen.runtime.workflow.definition import WorkflowDefinition, node_labels
from ivkgen.runtime.workflow.handle import WorkflowHandle
from pydantic import ValidationError


@dataclass(frozen=True)
class Finding:
    """One problem (``error``) or remark (``warning``) about the workflow on this server."""

    severity: Literal["error", "warning"]
    message: str


def load_definition(path: str | Path, catalog: Catalog) -> WorkflowDefinition:
    """The workflow file, also when the server lacks some of its node types (``node_findings``
    lists them all, where loading stops at the first)."""
    try:
        return WorkflowDefinition.from_file(path, catalog=catalog)
    except WorkflowError as exc:
        if exc.node_type is None or exc.node_type in catalog.nodes:
            raise
        unknown_type = exc
    try:
        return WorkflowDefinition.model_validate(json.loads(Path(path).read_bytes()))
    except (ValueError, ValidationError):
        raise unknown_type from None


def _version(text: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        return None


def node_findings(definition: WorkflowDefinition, catalog: Catalog) -> list[Finding]:
    """Node types the server does not know, and nodes saved with another version of their type."""
    labels = node_labels(definition, catalog)
    found: list[Finding] = []
    for node in definition.invocation_nodes():
        data = node["data"]
        node_type, saved = data["type"], str(data.get("version", ""))
        where = f"node {labels[node['id']]!r} ({node['id']})"
        spec = catalog.nodes.get(node_type)
        if spec is None:
            found.append(
                Finding(
                    "error",
                    f"{where} has type {node_type!r}, which the server does not know: install "
                    "the node pack that provides it on the server, or remove the node",
                )
            )
            continue
        ours, theirs = _version(saved), _version(spec.version)
        if saved == spec.version or ours is None or theirs is None:
            continue
        if ours > theirs:
            found.append(
                Finding(
                    "error",
                    f"{where} is {node_type} {saved}, newer than the server's {spec.version}: "
                    "update InvokeAI on the server, or rebuild the node in its workflow editor",
                )
            )
        else:
            found.append(
                Finding(
                    "warning",
                    f"{where} was saved as {node_type} {saved}; the server has {spec.version} "
                    "(the workflow editor offers to update the node)",
                )
            )
    return found


def model_findings(handle: WorkflowHandle[Any], models: Sequence[ModelConfig]) -> list[Finding]:
    """Models the workflow names that are not installed, with the closest installed ones."""
    graph = handle.build_enqueue_body()["batch"]["graph"]
    labels = node_labels(handle.definition, handle.catalog)
    by_field = {(n.entry.node_id, n.entry.field_name): n for n in named_inputs(handle)}
    found: list[Finding] = []
    for node_id, field_name, value in model_fields(graph, handle.catalog):
        if find_model(value, models) is not None:
            continue
        close = candidates(value, models)
        wanted = f"{value.get('name')!r} ({value.get('base')} {value.get('type')})"
        named = by_field.get((node_id, field_name))
        where = (
            f"input {named.describe()}"
            if named
            else f"node {labels.get(node_id, node_id)!r} ({node_id}) field {field_name!r}"
        )
        advice = (
            "closest installed: " + ", ".join(f"{m.name!r} ({m.base} {m.type})" for m in close)
            if close
            else "the server has no models installed"
        )
        same_kind = [m for m in close if (m.base, m.type) == (value.get("base"), value.get("type"))]
        if named and same_kind:
            assignment = shlex.quote(f"{named.name}={same_kind[0].name}")
            advice += f"; pass --set {assignment} to ivkgen run"
        found.append(Finding("error", f"{where}: model {wanted} is not installed; {advice}"))
    return found


def input_findings(handle: WorkflowHandle[Any], uploading: Collection[int] = ()) -> list[Finding]:
    """Form inputs without a required value or with a value the schema rejects; inputs in
    ``uploading`` get their image at submission."""
    named = named_inputs(handle)
    found: list[Finding] = []
    for index, problems in handle.validate_inputs().items():
        if index in uploading:
            continue
        item: NamedInput = named[index]
        for problem in problems:
            found.append(
                Finding(
                    "error",
                    f"input {item.describe()}: {problem}; pass --set {item.name}=VALUE to "
                    "ivkgen run",
                )
            )
    return found


def check_workflow(
    path: str | Path, catalog: Catalog, models: Sequence[ModelConfig]
) -> list[Finding]:
    """Every finding about the workflow at ``path`` on a server with ``catalog`` and
    ``models``."""
    definition = load_definition(path, catalog)
    nodes = node_findings(definition, catalog)
    if any(f.severity == "error" for f in nodes):
        return nodes
    handle = WorkflowHandle(definition, catalog)
    inputs = input_findings(handle)
    try:
        models_found = model_findings(handle, models)
    except WorkflowError as exc:  # a value the conversion cannot send: reported once
        models_found = [] if inputs else [Finding("error", str(exc))]
    return nodes + inputs + models_found


def check_command(
    workflow: str, client: InvokeAIClient, load_catalog: Callable[[], Catalog]
) -> int:
    """Print the findings; 0 when the workflow can run as it is, else 1."""
    version = client.get_version()
    findings = check_workflow(workflow, load_catalog(), client.model_repo.list_models())
    print(f"ivkgen check: {workflow} on {client.base_url} (InvokeAI {version})")
    for finding in findings:
        print(f"{finding.severity}: {finding.message}")
    errors = sum(f.severity == "error" for f in findings)
    if errors:
        what = "1 problem: fix it" if errors == 1 else f"{errors} problems: fix them"
        print(f"{what} before running the workflow")
        return 1
    print("ok: the server knows every node and model, and every required input has a value")
    return 0
