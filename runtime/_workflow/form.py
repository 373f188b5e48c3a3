"""The inputs a workflow shows in the GUI's form, in form order, as typed ``Ivk*`` fields.

Which fields and in what order follows the GUI: the ``node-field`` elements reachable from the
form's root, depth first in ``children`` order; a workflow whose form is missing or empty shows
its legacy ``exposedFields`` instead. Form fields pointing at a missing node or node input are
dropped with a ``WorkflowWarning``. Inputs of a node whose type the catalog does not have are
listed, typed from their saved values (their description says so).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

from ivkgen.runtime._errors import WorkflowWarning
from ivkgen.runtime._fields import IvkField
from ivkgen.runtime._workflow.catalog import MISSING, Catalog, InputSpec, default_catalog
from ivkgen.runtime._workflow.definition import HANDLED_EDGE_TYPES, FieldRef, WorkflowDefinition
from ivkgen.runtime._workflow.loose import loose_spec
from ivkgen.runtime._workflow.shape import MAPPING
from pydantic import BaseModel, ConfigDict, SkipValidation


class IvkWorkflowInput(BaseModel):
    """One form input: where it lives in the workflow and its typed value."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    input_index: int
    label: str
    node_name: str
    node_id: str
    field_name: str
    field: SkipValidation[IvkField[Any]]
    required: bool
    description: str = ""
    saved_value_error: str | None = None
    """Why the field could not hold the value saved in the workflow (it then starts unset)."""


def form_field_refs(workflow: Mapping[str, Any]) -> list[FieldRef]:
    """The node inputs the form shows, in order (before checking that they exist)."""
    form = workflow.get("form") or {}
    elements = form.get("elements")
    elements = elements if isinstance(elements, MAPPING) else {}
    root = elements.get(str(form.get("rootElementId", "root")))
    if isinstance(root, MAPPING) and _children(root):
        return list(_walk(root, elements, set()))
    return [
        (field["nodeId"], field["fieldName"])
        for field in workflow.get("exposedFields") or []
        if isinstance(field, MAPPING)
    ]


def _children(element: Any) -> list[Any]:
    if not isinstance(element, MAPPING) or element.get("type") != "container":
        return []
    children = (element.get("data") or {}).get("children")
    return children if isinstance(children, list) else []


def _walk(
    element: Mapping[str, Any], elements: Mapping[str, Any], seen: set[str]
) -> Iterator[FieldRef]:
    for child_id in _children(element):
        child = elements.get(child_id) if isinstance(child_id, str) else None
        if not isinstance(child, MAPPING) or child_id in seen:
            continue
        seen.add(child_id)
        if child.get("type") == "node-field":
            ident = (child.get("data") or {}).get("fieldIdentifier") or {}
            yield str(ident.get("nodeId")), str(ident.get("fieldName"))
        else:
            yield from _walk(child, elements, seen)


def connected_inputs(workflow: Mapping[str, Any]) -> set[FieldRef]:
    """Node inputs that have an incoming (non-collapsed) edge."""
    return {
        (edge["target"], edge["targetHandle"])
        for edge in workflow.get("edges") or []
        if edge.get("type") in HANDLED_EDGE_TYPES
    }


def discover_inputs(
    definition: WorkflowDefinition, catalog: Catalog | None = None
) -> list[IvkWorkflowInput]:
    """The form inputs of ``definition``, each holding a fresh ``Ivk*`` field with its value."""
    catalog = catalog or default_catalog()
    workflow = _form_view(definition)
    nodes = {node["id"]: node for node in workflow["nodes"]}
    connected = connected_inputs(workflow)
    inputs: list[IvkWorkflowInput] = []
    for node_id, field_name in form_field_refs(workflow):
        node = nodes.get(node_id)
        spec = input_spec(node, field_name, catalog)
        if node is None or spec is None:
            warnings.warn(
                f"workflow {definition.name!r}: form field {field_name!r} of node {node_id!r} "
                "does not exist; it is not listed as an input",
                WorkflowWarning,
                stacklevel=2,
            )
            continue
        data = node["data"]
        saved = data["inputs"][field_name]
        field, error = _make_field(catalog, spec, saved)
        inputs.append(
            IvkWorkflowInput(
                input_index=len(inputs),
                label=saved.get("label") or spec.display_title,
                node_name=data.get("label") or data["type"],
                node_id=node_id,
                field_name=field_name,
                field=field,
                required=spec.required and (node_id, field_name) not in connected,
                description=_description(data["type"], saved, spec, catalog),
                saved_value_error=error,
            )
        )
    return inputs


def _form_view(definition: WorkflowDefinition) -> dict[str, Any]:
    """The keys of ``definition`` that the form reads, as JSON, without dumping its nodes: they
    are JSON already (values taken from them are copied by :func:`_make_field`)."""
    exposed = [field.model_dump(by_alias=True) for field in definition.exposed_fields]
    return {
        "nodes": definition.nodes,
        "edges": definition.edges,
        "form": definition.form,
        "exposedFields": exposed,
    }


def _description(
    node_type: str, saved: Mapping[str, Any], spec: InputSpec, catalog: Catalog
) -> str:
    """The user's description, else the schema's; for an unknown node type, both."""
    if node_type in catalog.nodes:
        return str(saved.get("description") or spec.description)
    return " ".join(filter(None, (saved.get("description"), spec.description)))


def input_spec(
    node: Mapping[str, Any] | None, field_name: str, catalog: Catalog
) -> InputSpec | None:
    """The spec of a node's input (typed from its saved value when the catalog does not have
    the node's type, see :mod:`.loose`); None if the node or input does not exist."""
    if node is None or node.get("type") != "invocation":
        return None
    data = node["data"]
    if field_name not in data["inputs"]:
        return None
    if data["type"] not in catalog.nodes:
        return loose_spec(data["type"], field_name, data["inputs"][field_name])
    return catalog.node(data["type"]).inputs.get(field_name)


def entry_spec(
    definition: WorkflowDefinition, entry: IvkWorkflowInput, catalog: Catalog
) -> InputSpec:
    """The spec of a listed form input."""
    spec = input_spec(definition.node_by_id(entry.node_id), entry.field_name, catalog)
    assert spec is not None  # discover_inputs lists existing inputs only
    return spec


def _make_field(
    catalog: Catalog, spec: InputSpec, saved: Mapping[str, Any]
) -> tuple[IvkField[Any], str | None]:
    """The field holding a copy of the saved value (absent = the schema default), or unset and
    why."""
    value = saved.get("value", MISSING)
    if isinstance(value, (list, dict)):
        value = copy.deepcopy(value)
    try:
        return catalog.make_field(spec, value), None
    except ValueError as exc:
        reason = str(exc).splitlines()[-1].strip() if str(exc) else type(exc).__name__
        return catalog.make_field(spec, None), f"saved value {saved['value']!r} rejected: {reason}"
