"""Model identifier inputs of a graph, matched to the models installed on the server. Pure.

A workflow saved on one server names models by that server's keys. Before submitting, every
``ModelIdentifierField`` value in the graph is looked up among the installed models: by ``key``,
then ``hash``, then ``name`` + ``base`` + ``type``; the value is replaced by the installed model's
identifier. A value the user set is only checked by key, never replaced, unless it carries no
key and no hash (a model named by hand): it is then found by name, base and type. A model that
matches nothing is reported with the closest installed candidates. A model input takes the bases
and types its schema names (``ui_model_base``, ``ui_model_type``): a model of another one is
refused, and the candidates are models it takes.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from ivkgen.runtime._errors import WorkflowError
from ivkgen.runtime._server.dto import ModelConfig
from ivkgen.runtime._workflow.catalog import Catalog, InputSpec
from ivkgen.runtime._workflow.definition import FieldRef

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


def takes(spec: InputSpec, base: Any, model_type: Any) -> bool:
    """Whether the model input of ``spec`` takes a model of ``base`` and ``model_type``."""
    return (spec.model_bases is None or base in spec.model_bases) and (
        spec.model_types is None or model_type in spec.model_types
    )


def model_kind(spec: InputSpec) -> str:
    """The models an input takes, in words: ``"a main model of base sd-1 or sd-2"``."""
    types = " or ".join(spec.model_types) if spec.model_types else "any"
    bases = f" of base {' or '.join(spec.model_bases)}" if spec.model_bases else ""
    return f"a {types} model{bases}"


def kind_problem(value: Mapping[str, Any], spec: InputSpec) -> str | None:
    """Why the input of ``spec`` cannot take the model ``value`` (another base or type), or
    ``None`` when it can (or when ``value`` does not say its base and type)."""
    base, model_type = value.get("base"), value.get("type")
    if base is None or model_type is None or takes(spec, base, model_type):
        return None
    name = value.get("name")
    return f"takes {model_kind(spec)}; {name!r} is a {model_type} model of base {base}"


def candidates(
    value: Mapping[str, Any], models: Sequence[ModelConfig], spec: InputSpec | None = None
) -> list[ModelConfig]:
    """Installed models the input of ``spec`` takes (its bases and types), else of the same base
    and type as ``value`` (else of its type, else any), closest names first."""
    narrow = spec if spec is not None and (spec.model_bases or spec.model_types) else None
    fitting = [m for m in models if narrow is not None and takes(narrow, m.base, m.type)]
    same_kind = [m for m in models if (m.base, m.type) == (value.get("base"), value.get("type"))]
    pool = (
        fitting or same_kind or [m for m in models if m.type == value.get("type")] or list(models)
    )
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
        node_type = graph["nodes"][node_id]["type"]
        spec = catalog.nodes[node_type].inputs[field_name]
        if found is None:
            close = candidates(value, models, spec)
            raise _missing(node_id, node_type, field_name, value, close, labels)
        problem = kind_problem(found.identifier(), spec)
        if problem:
            label = labels.get(node_id, node_type)
            raise WorkflowError(
                f"node {label!r} ({node_id}) field {field_name!r} {problem}; "
                + installed_it_takes(value, models, spec),
                node_id=node_id,
                node_type=node_type,
                field_name=field_name,
            )
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
    close: Sequence[ModelConfig],
    labels: Mapping[str, str],
) -> WorkflowError:
    where = f"node {labels.get(node_id, node_type)!r} ({node_id}) field {field_name!r}"
    return WorkflowError(
        f"{not_installed(where, value, close)}. Set the input to an installed model.",
        node_id=node_id,
        node_type=node_type,
        field_name=field_name,
    )


def not_installed(where: str, value: Mapping[str, Any], close: Sequence[ModelConfig]) -> str:
    """The message for a model the server lacks: ``where`` the workflow names it, the model and
    the ``close`` installed ones (see :func:`candidates`)."""
    wanted = f"{value.get('name')!r} ({value.get('base')} {value.get('type')})"
    return f"{where}: model {wanted} is not installed on the server; {_listing(close)}"


def installed_it_takes(
    value: Mapping[str, Any], models: Sequence[ModelConfig], spec: InputSpec
) -> str:
    """The installed models the input of ``spec`` takes, closest to ``value``'s name first, in
    words."""
    close = [m for m in candidates(value, models, spec) if takes(spec, m.base, m.type)]
    if not close:
        return f"the server has no {model_kind(spec).removeprefix('a ')} installed"
    return "installed models it takes: " + ", ".join(f"{m.name!r} ({m.base})" for m in close)


def _listing(close: Sequence[ModelConfig]) -> str:
    if not close:
        return "the server has no models installed"
    return "closest installed: " + ", ".join(f"{m.name!r} ({m.base} {m.type})" for m in close)
