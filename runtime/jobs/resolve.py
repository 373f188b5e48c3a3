"""Model identifier inputs of a graph, matched to the models installed on the server. Pure.

A workflow saved on one server names models by that server's keys. Before submitting, every
``ModelIdentifierField`` value in the graph is looked up among the installed models: by ``key``,
then ``hash``, then ``name`` + ``base`` + ``type``; the value is replaced by the installed model's
identifier. A value the user set is only checked by key, never replaced, unless it carries no
key and no hash (a model named by hand): it is then found by name, base and type. A model that
matches nothing is reported with the closest installed candidates.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from ivkgen.runtime.errors import WorkflowError
from ivkgen.runtime.server.dto import ModelConfig
from ivkgen.runtime.workflow.catalog import Catalog
from ivkgen.runtime.workflow.definition import FieldRef

MODEL_FIELD_TYPE = "ModelIdentifierField"
CANDIDATES = 3


def model_fields(
    graph: Mapping[str, Any], catalog: Catalog
) -> list[tuple[str, str, dict[str, Any]]]:
    """``(node id, field name, value)`` of every model identifier value set in the graph."""
    found: list[tuple[str, str, dict[str, Any]]] = []
    for node_id, node in graph["nodes"].items():
        spec = catalog.nodes.get(node["type"])
        if spec is None:
            continue
        for name, value in node.items():
            field = spec.inputs.get(name)
            if field is not None and MODEL_FIELD_TYPE in field.type and isinstance(value, dict):
                found.append((node_id, name, value))
    return found


def find_model(value: Mapping[str, Any], models: Sequence[ModelConfig]) -> ModelConfig | None:
    """The installed model ``value`` means: same key, else same hash, else same name, base and
    type."""
    for matches in (
        lambda m: m.key == value.get("key"),
        lambda m: bool(value.get("hash")) and m.hash == value.get("hash"),
        lambda m: [m.name, m.base, m.type] == [value.get(k) for k in ("name", "base", "type")],
    ):
        found = next((m for m in models if matches(m)), None)
        if found is not None:
            return found
    return None


def candidates(value: Mapping[str, Any], models: Sequence[ModelConfig]) -> list[ModelConfig]:
    """Installed models of the same base and type, closest names first (else any type)."""
    same_kind = [m for m in models if (m.base, m.type) == (value.get("base"), value.get("type"))]
    pool = same_kind or [m for m in models if m.type == value.get("type")] or list(models)
    name = str(value.get("name", ""))
    by_name = {m.name: m for m in pool}
    close = difflib.get_close_matches(name, list(by_name), n=CANDIDATES, cutoff=0.0)
    return [by_name[n] for n in close]


def resolve_models(
    graph: Mapping[str, Any],
    catalog: Catalog,
    models: Sequence[ModelConfig],
    *,
    user_set: Collection[FieldRef] = (),
    labels: Mapping[str, str] | None = None,
) -> dict[FieldRef, dict[str, Any]]:
    """The replacement identifier of each model value that names an installed model under
    another key; raises ``WorkflowError`` (node, field, closest candidates) for one that names
    no installed model. The graph is not changed."""
    labels = labels or {}
    patches: dict[FieldRef, dict[str, Any]] = {}
    installed = {m.key: m for m in models}
    for node_id, field_name, value in model_fields(graph, catalog):
        if (node_id, field_name) in user_set and (value.get("key") or value.get("hash")):
            found = installed.get(str(value.get("key")))
        else:
            found = find_model(value, models)
        if found is None:
            node_type = graph["nodes"][node_id]["type"]
            raise _missing(node_id, node_type, field_name, value, models, labels)
        if found.key != value.get("key") or found.hash != value.get("hash"):
            patches[(node_id, field_name)] = {
                **found.identifier(),
                "submodel_type": value.get("submodel_type"),
            }
    return patches


def _missing(
    node_id: str,
    node_type: str,
    field_name: str,
    value: Mapping[str, Any],
    models: Sequence[ModelConfig],
    labels: Mapping[str, str],
) -> WorkflowError:
    wanted = f"{value.get('name')!r} ({value.get('base')} {value.get('type')})"
    close = candidates(value, models)
    listing = (
        "closest installed: " + ", ".join(f"{m.name!r} ({m.base} {m.type})" for m in close)
        if close
        else "the server has no models installed"
    )
    label = labels.get(node_id, node_type)
    return WorkflowError(
        f"node {label!r} ({node_id}) field {field_name!r}: model {wanted} is not installed on "
        f"the server; {listing}. Set the input to an installed model.",
        node_id=node_id,
        node_type=node_type,
        field_name=field_name,
    )


__all__ = ["candidates", "find_model", "model_fields", "resolve_models"]
