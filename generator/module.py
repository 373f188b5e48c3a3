"""Emit one typed module per workflow: ``<Name>Inputs``, ``<Name>Outputs`` and ``<Name>``.

The declarations come from the workflow's form inputs (in form order, typed from the node
catalog) and its output nodes. User text reaches the module only through the escapers of
:mod:`ivkgen.generator.render` (``literal``, ``docstring``).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from ivkgen.generator import GeneratorError, WorkflowFileError, generator_version
from ivkgen.generator.layout import Attribute, render_classes
from ivkgen.generator.naming import class_name, input_name, input_names, module_name, numbered
from ivkgen.generator.render import docstring, import_sections, literal
from ivkgen.runtime import _fields as fields
from ivkgen.runtime import _values as values
from ivkgen.runtime._errors import WorkflowError
from ivkgen.runtime._jobs.outputs import OutputNode, output_nodes
from ivkgen.runtime._typed import WORKFLOW_COPY_SUFFIX
from ivkgen.runtime._values import IvkValueField
from ivkgen.runtime._workflow.blockers import unknown_node_blockers
from ivkgen.runtime._workflow.catalog import Catalog, InputSpec, fields_package_name
from ivkgen.runtime._workflow.definition import WorkflowDefinition
from ivkgen.runtime._workflow.form import IvkWorkflowInput, discover_inputs

_PRIMITIVES = {"int": "int", "float": "float", "str": "str", "bool": "bool", "Any": "Any"}
_VALUE_TYPES = {
    "IvkIntegerField": "int",
    "IvkFloatField": "float",
    "IvkStringField": "str",
    "IvkBooleanField": "bool",
    "IvkCollectionField": "list[Any]",
    "IvkAnyField": "Any",
}
_ALSO_ACCEPTED = {
    "IvkModelIdentifierField": "str",
    "IvkImageField": "ImageSource",
    "IvkVideoField": "VideoSource",
}
_OUTPUT_CLASSES = {"image": "OutputImage", "video": "OutputVideo"}
CALL_SAVED_WORKFLOW = "call_saved_workflow"
_IMPORTED_FROM = {
    **dict.fromkeys(("Annotated", "Any", "ClassVar", "Literal"), "typing"),
    "Field": "pydantic",
    **dict.fromkeys(
        ("At", "ImageSource", "OutputAt", "OutputImage", "OutputVideo", "VideoSource"),
        "ivkgen.runtime",
    ),
    **dict.fromkeys(("Workflow", "WorkflowInputs", "WorkflowOutputs"), "ivkgen.runtime"),
}


@dataclass(frozen=True)
class InputDecl:
    """One attribute of the Inputs class; ``names`` are the names its code needs imported."""

    name: str
    annotated: tuple[str, ...]
    """The arguments of its ``Annotated[...]`` annotation: type, constraints, ``At(...)``."""
    default: str | None
    doc: str
    names: frozenset[str]

    @property
    def attribute(self) -> Attribute:
        return Attribute(self.name, self.annotated, self.default, self.doc)


@dataclass(frozen=True)
class OutputDecl:
    """One attribute of the Outputs class; ``item_class`` is ``OutputImage`` or ``OutputVideo``."""

    name: str
    node_id: str
    item_class: str
    doc: str

    @property
    def attribute(self) -> Attribute:
        annotated = (f"list[{self.item_class}]", f"OutputAt({self.node_id!a})")
        return Attribute(self.name, annotated, None, self.doc)


@dataclass(frozen=True)
class WorkflowModule:
    """A rendered module and where it goes, with the workflow JSON it was rendered from."""

    path: Path
    source: str
    class_name: str
    command: list[str]
    library: LibraryOrigin | None = None
    workflow: str = ""

    def files(self) -> dict[Path, str]:
        """The module and its workflow's copy beside it (which travels with the module when
        its folder is moved, vendored or installed), by path."""
        return {self.path: self.source, self.path.with_suffix(WORKFLOW_COPY_SUFFIX): self.workflow}


def value_type(spec: InputSpec, field_class: str, catalog: Catalog) -> tuple[str, set[str]]:
    """The Python type of an input's value, from the catalog (never from the value)."""
    schedulers = getattr(catalog.fields_module, "SchedulerName", None)
    if spec.choices is not None and schedulers and spec.choices == get_args(schedulers):
        return "SchedulerName", {"SchedulerName"}
    if spec.choices is not None:
        return f"Literal[{', '.join(map(ascii, spec.choices))}]", {"Literal"}
    if field_class in _ALSO_ACCEPTED:
        also = _ALSO_ACCEPTED[field_class]
        return f"{field_class} | {also}", {field_class, also}
    item = spec.type.removeprefix("list[").removesuffix("]")
    if spec.type.startswith("list[") and item in _PRIMITIVES:
        return f"list[{item}]", {item}
    if field_class in _VALUE_TYPES:
        python_type = _VALUE_TYPES[field_class]
        return python_type, {"Any"} if "Any" in python_type else set()
    if spec.type in _PRIMITIVES:
        return spec.type, {spec.type}
    return field_class, {field_class}


def _declaration(
    name: str, entry: IvkWorkflowInput, spec: InputSpec, node_type: str, catalog: Catalog
) -> InputDecl:
    field_class = type(entry.field).__name__
    try:
        value = entry.field.to_json_dict()
    except ValueError as exc:  # a struct value saved without a key the server needs
        raise WorkflowError(
            f"input {entry.label!r} (node {entry.node_id!r}, field {entry.field_name!r}): its "
            f"saved value is incomplete ({exc}); choose it again in the InvokeAI workflow editor "
            "and export the workflow again",
            node_id=entry.node_id,
            field_name=entry.field_name,
        ) from None
    names = {"Annotated", "At"}
    if value is None:
        default = None if entry.required else "None"
    elif isinstance(entry.field, IvkValueField):
        default = literal(value)
    else:
        default = f"{field_class}.model_validate({literal(value)})"
        names.add(field_class)
    python_type, type_names = value_type(spec, field_class, catalog)
    names |= type_names
    if default == "None" or (spec.nullable and default is not None):
        python_type += " | None"
    parts = [python_type]
    if spec.constraints and spec.choices is None:
        args = ", ".join(f"{key}={value!r}" for key, value in sorted(spec.constraints.items()))
        parts.append(f"Field({args})")
        names.add("Field")
    parts.append(f"At({entry.node_id!r}, {entry.field_name!r})")
    where = f'{entry.label} -- node "{entry.node_name}" ({node_type}), field {entry.field_name}.'
    return InputDecl(
        name=name,
        annotated=tuple(parts),
        default=default,
        doc=docstring(f"{where} {entry.description}" if entry.description else where),
        names=frozenset(names - {"int", "float", "str", "bool"}),
    )


def input_decls(
    definition: WorkflowDefinition, inputs: list[IvkWorkflowInput], catalog: Catalog
) -> list[InputDecl]:
    nodes = {node["id"]: node["data"] for node in definition.nodes}
    decls = []
    for name, entry in zip(input_names(definition, inputs), inputs, strict=True):
        node_type = nodes[entry.node_id]["type"]
        spec = catalog.node(node_type).inputs[entry.field_name]
        decls.append(_declaration(name, entry, spec, node_type, catalog))
    return decls


def _output_doc(node: OutputNode) -> str:
    where = f'node "{node.title}" ({node.node_type}, {node.node_id})'
    if node.node_type == CALL_SAVED_WORKFLOW:
        return docstring(f"Images and videos saved by the workflow that {where} calls.")
    return docstring(f"{node.kind.capitalize()}s saved by {where}.")


def output_decls(definition: WorkflowDefinition, catalog: Catalog) -> list[OutputDecl]:
    """The output nodes, then the ``call_saved_workflow`` nodes (whatever the workflow they call
    saves, images or videos)."""
    calls = [
        OutputNode(node["id"], CALL_SAVED_WORKFLOW, node["data"].get("label") or "")
        for node in definition.invocation_nodes()
        if node["data"]["type"] == CALL_SAVED_WORKFLOW
    ]
    found = [*output_nodes(definition, catalog), *calls]
    names = numbered(input_name("", "", node.title) for node in found)
    return [
        OutputDecl(
            name=name,
            node_id=node.node_id,
            item_class=(
                "OutputImage | OutputVideo"
                if node.node_type == CALL_SAVED_WORKFLOW
                else _OUTPUT_CLASSES[node.kind]
            ),
            doc=_output_doc(node),
        )
        for name, node in zip(names, found, strict=True)
    ]


def refuse_unknown_nodes(source: Path, definition: WorkflowDefinition, catalog: Catalog) -> None:
    """Raise ``WorkflowFileError`` (one line, exit code 2) naming every node whose type the schema
    lacks: their inputs cannot be typed from it. Generate against the server that has them."""
    unknown = unknown_node_blockers(definition, catalog)
    if unknown:
        nodes = ", ".join(f"{b.node_id} ({b.node_type})" for b in unknown)
        raise WorkflowFileError(
            f"{source}: InvokeAI {catalog.invokeai_version}'s schema has no type for node(s) "
            f"{nodes}; generate against a server that has them: ivkgen gen {source} --server URL"
        )


def _field_module(name: str, fields_package: str) -> str:
    """Where an ``Ivk*`` class lives: the runtime's primitives, else the fields package beside
    the module (``SchedulerName`` too)."""
    if name == "SchedulerName":
        return f".{fields_package}"
    if not name.startswith("Ivk"):
        return ""
    for module in (values, fields):
        if hasattr(module, name):
            return module.__name__
    return f".{fields_package}"


def imports_of(names: set[str], fields_package: str) -> dict[str, set[str]]:
    """Module -> names to import, for the names a module's code uses. (No ``from __future__
    import annotations``: pydantic would evaluate every annotation string at import.)"""
    by_module: dict[str, set[str]] = {}
    for name in names:
        module = _IMPORTED_FROM.get(name) or _field_module(name, fields_package)
        if not module:
            raise GeneratorError(f"no import known for {name!r}")
        by_module.setdefault(module, set()).add(name)
    return by_module


def _relative(source: Path, out_dir: Path) -> str:
    """``source`` relative to ``out_dir``, as the paths are spelled: symbolic links are kept, so a
    checkout reached through a link generates the same text as the real one."""
    return Path(os.path.relpath(os.path.abspath(source), os.path.abspath(out_dir))).as_posix()


@dataclass(frozen=True)
class LibraryOrigin:
    """The server library entry a module's workflow JSON was fetched from."""

    workflow_id: str
    updated_at: str


TEMPLATE = "workflow_module.py.j2"


@dataclass(frozen=True)
class ModuleParts:
    """What a module is rendered from: the template's context and the attributes of the
    ``inputs`` and ``outputs`` classes."""

    path: Path
    class_name: str
    label: str
    context: dict[str, Any]
    bodies: dict[str, list[Attribute]]
    workflow: str
    """The workflow JSON's text, for the module's copy of it."""


def module_parts(
    source: Path,
    out_dir: Path,
    catalog: Catalog,
    command: list[str],
    library: LibraryOrigin | None,
    recorded_source: str | None = None,
) -> ModuleParts:
    """The parts of the module of the workflow at ``source`` (see :func:`render_module`)."""
    if not source.is_file():
        raise WorkflowFileError(f"{source}: no such workflow file")
    raw = source.read_bytes()
    try:
        definition = WorkflowDefinition.from_file(source)
        refuse_unknown_nodes(source, definition, catalog)
        found = discover_inputs(definition, catalog)
        inputs, outputs = input_decls(definition, found, catalog), output_decls(definition, catalog)
    except WorkflowError as exc:
        raise WorkflowFileError(str(exc) if exc.source else f"{source}: {exc}") from None
    module = module_name(definition.name, Path(recorded_source or source).stem)
    names = {"ClassVar", "Workflow", "WorkflowInputs", "WorkflowOutputs"}
    names |= {n for decl in inputs for n in decl.names} | ({"Literal"} if inputs else set())
    if outputs:
        names |= {"Annotated", "OutputAt"}
        names |= {name for decl in outputs for name in decl.item_class.split(" | ")}
    name = class_name(module, names)
    fields_package = fields_package_name(catalog.invokeai_version)
    context: dict[str, Any] = {
        "version": generator_version(),
        "command_lines": command,
        "library": library,
        "fields_package": fields_package,
        "source": recorded_source or _relative(source, out_dir),
        "source_sha256": hashlib.sha256(raw).hexdigest(),
        "invokeai_version": catalog.invokeai_version,
        "openapi_sha256": catalog.openapi_sha256,
        "workflow_name": literal(definition.name),
        "class_name": name,
        "input_names": [literal(decl.name) for decl in inputs],
        "outputs_doc": (
            "The images or videos of each output node, in workflow order."
            if any("OutputVideo" in decl.item_class for decl in outputs)
            else "The images of each output node, in workflow order."
        ),
        "import_sections": import_sections(imports_of(names, fields_package)),
    }
    bodies = {
        "inputs": [decl.attribute for decl in inputs],
        "outputs": [decl.attribute for decl in outputs],
    }
    label = f"{source} -> {module}.py"
    return ModuleParts(out_dir / f"{module}.py", name, label, context, bodies, raw.decode())


def render_module(
    source: Path,
    out_dir: Path,
    catalog: Catalog,
    command: list[str],
    library: LibraryOrigin | None = None,
    recorded_source: str | None = None,
) -> WorkflowModule:
    """Render the module of the workflow at ``source`` for the folder ``out_dir``, whose fields
    package holds ``catalog``; ``command`` is the header's ``ivkgen gen`` command, as lines
    (:func:`ivkgen.generator.render.shell_lines`); ``library`` names the library entry the JSON
    came from; ``recorded_source`` is the ``SOURCE`` to keep when ``source`` is the module's
    copy of its workflow (default: ``source`` relative to ``out_dir``)."""
    parts = module_parts(source, out_dir, catalog, command, library, recorded_source)
    text = render_classes(TEMPLATE, parts.label, parts.context, parts.bodies)
    return WorkflowModule(parts.path, text, parts.class_name, command, library, parts.workflow)
