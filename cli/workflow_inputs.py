"""A workflow file's form inputs by attribute name (what ``ivkgen run --set`` and the generated
module use) or label, for the commands that take input values.

``ivkgen inputs`` lists a :class:`WorkflowForm`, which loads no more than the form needs;
the commands that run or check a workflow load a handle (:func:`load_handle`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ivkgen.cli.errors import CommandError
from ivkgen.generator.naming import input_names
from ivkgen.runtime._errors import InputLookupError
from ivkgen.runtime._workflow.catalog import Catalog, default_catalog
from ivkgen.runtime._workflow.definition import WorkflowDefinition
from ivkgen.runtime._workflow.form import IvkWorkflowInput, discover_inputs

if TYPE_CHECKING:
    from ivkgen.runtime._workflow.handle import WorkflowHandle


class Form(Protocol):
    """A workflow and its form inputs: a :class:`WorkflowForm` or a ``WorkflowHandle``."""

    @property
    def definition(self) -> WorkflowDefinition: ...

    @property
    def catalog(self) -> Catalog: ...

    def list_inputs(self) -> list[IvkWorkflowInput]: ...


@dataclass(frozen=True)
class WorkflowForm:
    """A workflow's form inputs with the catalog that types them."""

    definition: WorkflowDefinition
    catalog: Catalog

    def list_inputs(self) -> list[IvkWorkflowInput]:
        return discover_inputs(self.definition, self.catalog)


@dataclass(frozen=True)
class NamedInput:
    """A form input with its attribute name in the generated module."""

    name: str
    entry: IvkWorkflowInput

    def describe(self) -> str:
        """``[7] 'Model' (model)``: how messages name the input."""
        return f"[{self.entry.input_index}] {self.entry.label!r} ({self.name})"


def load_form(path: str | Path, fields: str | Path | None = None) -> WorkflowForm:
    """The workflow file at ``path`` (``WorkflowError`` if the file is no workflow), with the
    node catalog ``ivkgen fields`` wrote into ``fields`` (default: the bundled one)."""
    catalog = default_catalog()
    if fields is not None:
        try:
            catalog = Catalog.from_dir(fields)
        except (OSError, ImportError) as exc:
            raise CommandError(
                f"--fields {fields}: no node catalog there ({exc}); write one with ivkgen fields "
                "--server URL -o DIR"
            ) from None
    return WorkflowForm(WorkflowDefinition.from_file(path), catalog)


def load_handle(path: str | Path, fields: str | Path | None = None) -> WorkflowHandle[None]:
    """A handle on the workflow file at ``path``, as :func:`load_form` reads it."""
    from ivkgen.runtime._workflow.handle import WorkflowHandle

    form = load_form(path, fields)
    return WorkflowHandle(form.definition, form.catalog)


def named_inputs(form: Form) -> list[NamedInput]:
    """The form's inputs in form order, with their attribute names."""
    inputs = form.list_inputs()
    return [
        NamedInput(name, entry)
        for name, entry in zip(input_names(form.definition, inputs), inputs, strict=True)
    ]


def find_named(handle: Form, key: str) -> NamedInput:
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
