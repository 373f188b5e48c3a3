"""What stops a workflow from running on a server, as findings (``ivkgen check``; ``ivkgen run``
refuses to submit on the same ones).

Checks against the server: what no form input can fix (node types and versions, edges to fields
that do not exist, required inputs outside the form without a value, against the node catalog
built from the server's ``/openapi.json``), the models the workflow names (against the installed
models, with the closest installed candidates), and the form inputs (required values,
constraints). Errors make the check fail; warnings (a node saved by an older InvokeAI) do not.
Given a generated module, it also lists the drift of the module's fields package against the
server's schema.
"""

from __future__ import annotations

import shlex
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from ivkgen.cli.workflow_inputs import NamedInput, named_inputs
from ivkgen.runtime._errors import WorkflowError
from ivkgen.runtime._jobs.resolve import candidates, not_installed
from ivkgen.runtime._server.dto import ModelConfig
from ivkgen.runtime._workflow import checks
from ivkgen.runtime._workflow.blockers import node_title, version_tuple
from ivkgen.runtime._workflow.catalog import Catalog
from ivkgen.runtime._workflow.checks import Finding
from ivkgen.runtime._workflow.definition import WorkflowDefinition, node_labels
from ivkgen.runtime._workflow.handle import WorkflowHandle


def version_warnings(definition: WorkflowDefinition, catalog: Catalog) -> list[Finding]:
    """Nodes saved with an older version of their type than the server's (the GUI updates them;
    a newer version is a blocker)."""
    found: list[Finding] = []
    for node in definition.invocation_nodes():
        data = node["data"]
        spec = catalog.nodes.get(data["type"])
        saved = str(data.get("version", ""))
        if spec is None:
            continue
        ours, theirs = version_tuple(saved), version_tuple(spec.version)
        if ours is not None and theirs is not None and ours < theirs:
            found.append(
                Finding(
                    "warning",
                    f"node {node_title(node, catalog)!r} ({node['id']}) was saved as "
                    f"{spec.type} {saved}; the server has {spec.version} (the workflow editor "
                    "offers to update the node)",
                )
            )
    return found


def blocker_findings(handle: WorkflowHandle[Any]) -> list[Finding]:
    """What no form input can fix: node types or versions the server does not have, edges to
    fields that do not exist, required inputs outside the form without a value."""
    return [Finding("error", message) for message in handle.validate_inputs().workflow]


def model_findings(handle: WorkflowHandle[Any], models: Sequence[ModelConfig]) -> list[Finding]:
    """Models the workflow names that are not installed, with the closest installed ones."""
    graph = handle.build_enqueue_body()["batch"]["graph"]
    labels = node_labels(handle.definition, handle.catalog)
    by_field = {(n.entry.node_id, n.entry.field_name): n for n in named_inputs(handle)}
    found: list[Finding] = []
    for node_id, field_name, value in checks.missing_models(graph, handle.catalog, models):
        close = candidates(value, models)
        named = by_field.get((node_id, field_name))
        where = (
            f"input {named.describe()}"
            if named
            else f"node {labels.get(node_id, node_id)!r} ({node_id}) field {field_name!r}"
        )
        message = not_installed(where, value, close)
        same_kind = [m for m in close if (m.base, m.type) == (value.get("base"), value.get("type"))]
        if named and same_kind:
            assignment = shlex.quote(f"{named.name}={same_kind[0].name}")
            message += f"; pass --set {assignment} to ivkgen run (or check)"
        found.append(Finding("error", message))
    return found


def input_findings(handle: WorkflowHandle[Any], uploading: Collection[int] = ()) -> list[Finding]:
    """Form inputs without a required value or with a value the schema rejects; inputs in
    ``uploading`` get their file at submission. Inputs of nodes of unknown type are left to
    :func:`blocker_findings`, which names the node."""
    named = named_inputs(handle)
    problems = handle.validate_inputs()
    unknown = {b.node_id for b in problems.blockers if b.kind == "unknown_type"}
    found: list[Finding] = []
    for index, messages in problems.items():
        item: NamedInput = named[index]
        if index in uploading or item.entry.node_id in unknown:
            continue
        for problem in messages:
            found.append(
                Finding(
                    "error",
                    f"input {item.describe()}: {problem}; pass --set {item.name}=VALUE to "
                    "ivkgen run (or check)",
                )
            )
    return found


def check_handle(
    handle: WorkflowHandle[Any], models: Sequence[ModelConfig], uploading: Collection[int] = ()
) -> list[Finding]:
    """Every finding about the workflow of ``handle``, its inputs as set, on a server with the
    handle's catalog and ``models``; inputs in ``uploading`` get their file at submission."""
    blockers = blocker_findings(handle)
    inputs = input_findings(handle, uploading)
    try:
        models_found = model_findings(handle, models)
    except WorkflowError as exc:  # a value the conversion cannot send: reported once
        models_found = [] if inputs else [Finding("error", str(exc))]
    return version_warnings(handle.definition, handle.catalog) + blockers + inputs + models_found


def check_workflow(
    path: str | Path, catalog: Catalog, models: Sequence[ModelConfig]
) -> list[Finding]:
    """Every finding about the workflow at ``path`` on a server with ``catalog`` and
    ``models``."""
    return check_handle(WorkflowHandle(WorkflowDefinition.from_file(path), catalog), models)


def drift_findings(module_path: Path, server: Catalog) -> tuple[Path, list[Finding]]:
    """The workflow JSON of the generated module at ``module_path``, and where the server's
    catalog differs from the module's fields package for it."""
    from ivkgen.generator import GeneratorError
    from ivkgen.generator.regen import read_module
    from ivkgen.runtime._workflow.drift import compare

    module = read_module(module_path) if module_path.is_file() else None
    if module is None:
        raise GeneratorError(f"{module_path}: not a module ivkgen gen wrote")
    ours = Catalog.from_dir(module.path.parent / module.fields_package)
    definition = WorkflowDefinition.from_file(module.source)
    drift = compare(definition, ours, server.nodes)
    where = f"{module.path} was generated for InvokeAI {ours.invokeai_version}"
    return module.source, [
        Finding("error", f"{where}, the server differs: {item}; regenerate it") for item in drift
    ]
