"""Base classes of generated workflow modules: named inputs, named outputs, the workflow.

A generated module declares ``<Name>Inputs(WorkflowInputs)`` whose attributes carry an
``At(node_id, field)`` marker, ``<Name>Outputs(WorkflowOutputs)`` whose attributes carry an
``OutputAt(node_id)``, and ``<Name>(Workflow[...])`` with the source's path and sha256. Everything
that runs lives here, so a runtime fix never needs a regeneration.
"""

from __future__ import annotations

import hashlib
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeAlias, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict

from runtime.errors import WorkflowError
from runtime.fields import IvkField, IvkValueField
from runtime.handle import WorkflowHandle
from runtime.outputs import OutputImage
from runtime.workflow import WorkflowDefinition

__all__ = [
    "At",
    "ImageSource",
    "OutputAt",
    "OutputImage",
    "SourceChangedWarning",
    "Workflow",
    "WorkflowInputs",
    "WorkflowOutputs",
]


@runtime_checkable
class SavesImages(Protocol):
    """What the runtime needs of a PIL image to upload it."""

    def save(self, fp: Any, format: str | None = None) -> None: ...


ImageSource: TypeAlias = Path | bytes | SavesImages
"""An image input given as a file path, encoded bytes or a PIL image; uploaded at run time."""


@dataclass(frozen=True, slots=True)
class At:
    """Where a named input lives: the workflow node's id and the node's field."""

    node_id: str
    field: str


@dataclass(frozen=True, slots=True)
class OutputAt:
    """The workflow node whose images a named output holds."""

    node_id: str


class SourceChangedWarning(UserWarning):
    """The workflow JSON changed since its module was generated."""


class WorkflowInputs(BaseModel):
    """Named form inputs; each attribute's ``At`` says which node field it sets."""

    model_config = ConfigDict(
        validate_assignment=True, extra="forbid", arbitrary_types_allowed=True
    )

    @classmethod
    def locations(cls) -> dict[str, At]:
        """Attribute name -> node field, in form order."""
        return {
            name: next(m for m in info.metadata if isinstance(m, At))
            for name, info in cls.model_fields.items()
        }

    def apply_to(self, handle: WorkflowHandle) -> None:
        """Set every input of ``handle`` from these attributes."""
        for name, at in self.locations().items():
            entry = handle.find_input(node=at.node_id, field=at.field)
            value = getattr(self, name)
            if isinstance(value, IvkField):
                handle.set_input_value(entry.input_index, value)
            elif isinstance(entry.field, IvkValueField):
                entry.field.value = value
            elif value is None:
                handle.set_input_value(entry.input_index, type(entry.field)())
            else:
                handle.set_input_value(entry.input_index, type(entry.field).model_validate(value))


class WorkflowOutputs(BaseModel):
    """Named output nodes; each attribute's ``OutputAt`` says which node's images it holds."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    @classmethod
    def locations(cls) -> dict[str, OutputAt]:
        return {
            name: next(m for m in info.metadata if isinstance(m, OutputAt))
            for name, info in cls.model_fields.items()
        }


InputsT = TypeVar("InputsT", bound=WorkflowInputs)
OutputsT = TypeVar("OutputsT", bound=WorkflowOutputs)


class Workflow(Generic[InputsT, OutputsT]):
    """A generated workflow: its source JSON, its inputs class and its outputs class."""

    SOURCE: ClassVar[str]
    """The workflow JSON's path, relative to the generated module's folder."""
    SOURCE_SHA256: ClassVar[str]
    INVOKEAI_VERSION: ClassVar[str]
    inputs_class: ClassVar[type[WorkflowInputs]]
    outputs_class: ClassVar[type[WorkflowOutputs]]

    def __init__(self, source: str | Path | None = None) -> None:
        self.source = Path(source) if source is not None else self.default_source()
        self._definition: WorkflowDefinition | None = None

    @classmethod
    def default_source(cls) -> Path:
        module_file = getattr(sys.modules[cls.__module__], "__file__", None) or "."
        return Path(module_file).resolve().parent / cls.SOURCE

    @property
    def definition(self) -> WorkflowDefinition:
        """The workflow JSON, loaded once; warns when it changed since generation."""
        if self._definition is None:
            if not self.source.is_file():
                raise WorkflowError(
                    f"{type(self).__name__}: the workflow JSON {self.source} is missing; pass "
                    "its path as source= or regenerate the module",
                    source=str(self.source),
                )
            raw = self.source.read_bytes()
            if hashlib.sha256(raw).hexdigest() != self.SOURCE_SHA256:
                warnings.warn(
                    f"{self.source} changed since {type(self).__name__} was generated; "
                    f"run `make gen WORKFLOW={self.source}`",
                    SourceChangedWarning,
                    stacklevel=2,
                )
            self._definition = WorkflowDefinition.from_file(self.source)
        return self._definition

    def handle(self, inputs: InputsT, **options: Any) -> WorkflowHandle:
        """A fresh ``WorkflowHandle`` with ``inputs`` applied (``options`` go to the handle)."""
        handle = WorkflowHandle(self.definition, **options)
        inputs.apply_to(handle)
        return handle
