"""What stops a server from running a workflow that no form input can fix. Pure.

The GUI loads every workflow and marks what is wrong; the server rejects it (422) or fails it at
run time. These are found before anything is sent, against the node catalog of the server:

* a node whose type the server does not have (a custom node pack, or a type a newer or older
  InvokeAI has), or a node saved by a newer version of its type than the server's (editor views
  such as ``current_image`` are never sent, so they block nothing);
* an edge from an output or into an input that its node's type does not have;
* a required input that is neither connected, nor given a value, nor in the form (form inputs are
  ``validate_inputs()``'s job).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ivkgen.runtime._errors import WorkflowError
from ivkgen.runtime._workflow.catalog import Catalog, NodeSpec
from ivkgen.runtime._workflow.convert import is_executable
from ivkgen.runtime._workflow.definition import HANDLED_EDGE_TYPES, FieldRef, WorkflowDefinition
from ivkgen.runtime._workflow.form import IvkWorkflowInput

BlockerKind = Literal["unknown_type", "newer_version", "missing_field", "required_value"]
CONNECTOR_HANDLES = {"source": "out", "target": "in"}
CALL_INPUT_PREFIX = "saved_workflow_input::"
"""Inputs ``call_saved_workflow`` nodes add for the called workflow's form (dynamic)."""


@dataclass(frozen=True, slots=True)
class Blocker:
    """One reason the server would reject or fail the workflow."""

    kind: BlockerKind
    node_id: str
    node_type: str
    message: str
    field_name: str | None = None


def node_title(node: Mapping[str, Any], catalog: Catalog) -> str:
    """The node's title in the GUI: its label, else its type's title, else its type."""
    data = node["data"]
    spec = catalog.nodes.get(data["type"])
    return str(data.get("label") or (spec.title if spec else "") or data["type"])


def version_tuple(text: str) -> tuple[int, ...] | None:
    """``"1.2.0"`` -> ``(1, 2, 0)``; None when it is not a dotted number."""
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        return None


def _where(node: Mapping[str, Any], catalog: Catalog) -> str:
    return f"node {node_title(node, catalog)!r} ({node['id']})"


def unknown_node_blockers(definition: WorkflowDefinition, catalog: Catalog) -> list[Blocker]:
    """Nodes whose type the catalog does not have, in workflow order."""
    found: list[Blocker] = []
    for node in definition.invocation_nodes():
        node_type = node["data"]["type"]
        if node_type not in catalog.nodes:
            pack = node["data"].get("nodePack") or "unknown"
            found.append(
                Blocker(
                    "unknown_type",
                    node["id"],
                    node_type,
                    f"{_where(node, catalog)} has type {node_type!r} (node pack {pack!r}), which "
                    f"InvokeAI {catalog.invokeai_version} does not have: install the node pack "
                    "that provides it on the server and use the server's catalog (ivkgen fields "
                    "--server URL), or remove the node",
                )
            )
    return found


def _version_blocker(node: Mapping[str, Any], spec: NodeSpec, catalog: Catalog) -> list[Blocker]:
    saved = str(node["data"].get("version", ""))
    ours, theirs = version_tuple(saved), version_tuple(spec.version)
    if ours is None or theirs is None or ours <= theirs:
        return []
    return [
        Blocker(
            "newer_version",
            node["id"],
            spec.type,
            f"{_where(node, catalog)} is {spec.type} {saved}, newer than the server's "
            f"{spec.version}: update InvokeAI on the server, or rebuild the node in its workflow "
            "editor",
        )
    ]


def _edge_blockers(definition: WorkflowDefinition, catalog: Catalog) -> list[Blocker]:
    nodes = {node["id"]: node for node in definition.nodes}
    found: list[Blocker] = []
    for edge in definition.edges:
        if edge.get("type") not in HANDLED_EDGE_TYPES:
            continue
        for end, handle_key, side in (
            ("source", "sourceHandle", "outputs"),
            ("target", "targetHandle", "inputs"),
        ):
            node = nodes[edge[end]]
            handle = edge[handle_key]
            if _has_handle(node, handle, end, side, catalog):
                continue
            node_type = node["data"]["type"]
            what = "output" if side == "outputs" else "input"
            found.append(
                Blocker(
                    "missing_field",
                    node["id"],
                    node_type,
                    f"edge {edge.get('id', '')!r}: {_where(node, catalog)} ({node_type}) has no "
                    f"{what} {handle!r} in InvokeAI {catalog.invokeai_version}: reconnect the "
                    "edge in the workflow editor",
                    field_name=handle,
                )
            )
    return found


def _has_handle(
    node: Mapping[str, Any], handle: str, end: str, side: str, catalog: Catalog
) -> bool:
    """Whether the edge end exists; ends on notes, connectors' own handles and unknown types
    (reported once as such) count as existing."""
    if node["type"] == "connector":
        return handle == CONNECTOR_HANDLES[end]
    if node["type"] != "invocation":
        return True
    spec = catalog.nodes.get(node["data"]["type"])
    if spec is None:
        return True
    if side == "inputs" and handle.startswith(CALL_INPUT_PREFIX):
        return True
    return handle in (spec.outputs if side == "outputs" else spec.inputs)


def _required_blockers(
    node: Mapping[str, Any],
    spec: NodeSpec,
    connected: Collection[FieldRef],
    form: Collection[FieldRef],
    catalog: Catalog,
) -> list[Blocker]:
    found: list[Blocker] = []
    inputs: Mapping[str, Any] = node["data"].get("inputs") or {}
    for name, input_spec in spec.inputs.items():
        ref = (node["id"], name)
        if not input_spec.required or ref in connected or ref in form:
            continue
        slot = inputs.get(name)
        if isinstance(slot, Mapping) and slot.get("value") is not None:
            continue
        how = "connect it" if input_spec.connection_only else "give it a value"
        found.append(
            Blocker(
                "required_value",
                node["id"],
                spec.type,
                f"{_where(node, catalog)} input {name!r} is required, has no value and is not in "
                f"the form: {how} in the workflow editor (or add it to the form)",
                field_name=name,
            )
        )
    return found


def workflow_blockers(
    definition: WorkflowDefinition, catalog: Catalog, *, form: Collection[FieldRef] = ()
) -> list[Blocker]:
    """Every blocker of the workflow on a server with ``catalog``; inputs in ``form`` are left
    to the form's validation."""
    found = unknown_node_blockers(definition, catalog)
    connected = {
        (edge["target"], edge["targetHandle"])
        for edge in definition.edges
        if edge.get("type") in HANDLED_EDGE_TYPES
    }
    for node in definition.invocation_nodes():
        spec = catalog.nodes.get(node["data"]["type"])
        if spec is None:
            continue
        found += _version_blocker(node, spec, catalog)
        if is_executable(node):
            found += _required_blockers(node, spec, connected, form, catalog)
    return found + _edge_blockers(definition, catalog)


class InputProblems(dict[int, list[str]]):
    """What ``validate_inputs()`` returns: input index -> problems, and in ``blockers`` what no
    form input can fix. True when there is either, so ``not problems`` means ready to send."""

    def __init__(self, blockers: Sequence[Blocker] = ()) -> None:
        super().__init__()
        self.blockers = list(blockers)

    @property
    def workflow(self) -> list[str]:
        """The blockers' messages."""
        return [blocker.message for blocker in self.blockers]

    def __bool__(self) -> bool:
        return bool(len(self) or self.blockers)

    def __repr__(self) -> str:
        return f"InputProblems({dict(self)!r}, workflow={self.workflow!r})"


def form_problems(
    definition: WorkflowDefinition, catalog: Catalog, inputs: Sequence[IvkWorkflowInput]
) -> InputProblems:
    """The workflow's blockers, and for each form input on a node of unknown type, that node."""
    problems = InputProblems(
        workflow_blockers(definition, catalog, form={(i.node_id, i.field_name) for i in inputs})
    )
    unknown = {b.node_id: b for b in problems.blockers if b.kind == "unknown_type"}
    for entry in inputs:
        blocker = unknown.get(entry.node_id)
        if blocker is not None:
            problems[entry.input_index] = [
                f"node {entry.node_name!r} has type {blocker.node_type!r}, which InvokeAI "
                f"{catalog.invokeai_version} does not have"
            ]
    return problems


def require_runnable(definition: WorkflowDefinition, catalog: Catalog) -> None:
    """Raise ``WorkflowError`` naming every node whose type the catalog does not have: the
    graph would be sent without them."""
    unknown = unknown_node_blockers(definition, catalog)
    if unknown:
        raise WorkflowError(
            f"workflow {definition.name!r} cannot be sent: "
            + "; ".join(blocker.message for blocker in unknown),
            node_id=unknown[0].node_id,
            node_type=unknown[0].node_type,
        )
