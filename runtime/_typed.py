"""Base classes of generated workflow modules: named inputs, named outputs, the workflow.

A generated module declares ``<Name>Inputs(WorkflowInputs)`` whose attributes carry an ``At(node_id,
field)`` marker, ``<Name>Outputs(WorkflowOutputs)`` whose attributes carry an ``OutputAt(node_id)``,
``<Name>InputName`` (a ``Literal`` of the inputs' names) and ``<Name>(Workflow[...])`` with the
source's path and sha256; a copy of the workflow JSON, ``<module>.workflow.json``, lies beside the
module and is run when the source is not there. Everything that runs lives here, so a runtime fix
never needs a regeneration. What runs loads on first use (the workflow model, the handle and its
client stack): a generated module's import stays light.
"""

from __future__ import annotations

import hashlib
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, NamedTuple, TypeVar, cast, overload

from ivkgen.runtime._errors import InputLookupError, SourceChangedWarning, WorkflowError
from ivkgen.runtime._fields import IvkField, takes_image
from ivkgen.runtime._media import OutputImage, OutputVideo
from ivkgen.runtime._timeouts import JOB_TIMEOUT
from ivkgen.runtime._versions import acheck_version, check_version
from ivkgen.runtime._workflow.model_inputs import pick_model
from pydantic import BaseModel, ConfigDict
from typing_extensions import TypeVar as DefaultedTypeVar

if TYPE_CHECKING:
    from ivkgen.runtime._client import AsyncInvokeAIClient, InvokeAIClient
    from ivkgen.runtime._jobs.plans import Plan
    from ivkgen.runtime._workflow.catalog import Catalog
    from ivkgen.runtime._workflow.definition import WorkflowDefinition
    from ivkgen.runtime._workflow.handle import WorkflowHandle


class At(NamedTuple):
    """Where a named input lives: the workflow node's id and the node's field."""

    node_id: str
    field: str


class OutputAt(NamedTuple):
    """The workflow node whose images a named output holds."""

    node_id: str


WORKFLOW_COPY_SUFFIX = ".workflow.json"
"""A generated module ``name.py`` carries its workflow JSON as ``name.workflow.json`` beside it."""


class WorkflowInputs(BaseModel):
    """Named form inputs; each attribute's ``At`` says which node field it sets."""

    model_config = ConfigDict(
        validate_assignment=True, extra="forbid", arbitrary_types_allowed=True, defer_build=True
    )

    @classmethod
    def locations(cls) -> dict[str, At]:
        """Attribute name -> node field, in form order."""
        return {
            name: next(m for m in info.metadata if isinstance(m, At))
            for name, info in cls.model_fields.items()
        }

    @classmethod
    def location(cls, name: str) -> At:
        """The node field of input ``name``; an unknown name is an ``InputLookupError`` that
        lists the inputs' names."""
        found = cls.locations()
        if name not in found:
            raise InputLookupError(
                f"{cls.__name__} has no input {name!r}; its inputs are {', '.join(found)}"
            )
        return found[name]

    def apply_to(self, handle: WorkflowHandle[Any]) -> dict[int, str]:
        """Set every input of ``handle`` from these attributes; image and video sources are
        queued for upload. Returns the model inputs given by name (index -> name) for the
        caller to resolve."""
        from ivkgen.runtime._values import IvkValueField  # a run's import, not the module's

        by_name: dict[int, str] = {}
        for name, at in self.locations().items():
            entry = handle.find_input(node=at.node_id, field=at.field)
            value = getattr(self, name)
            index = entry.input_index
            if isinstance(value, IvkField):
                handle.set_input_value(index, value)
            elif isinstance(entry.field, IvkValueField):
                entry.field.value = value
            elif value is None:
                handle.set_input_value(index, type(entry.field)())
            elif takes_image(entry.field):
                handle.set_input_image(index, value)
            elif hasattr(entry.field, "video_name"):
                handle.set_input_video(index, value)
            else:  # a model, by its installed name
                by_name[index] = value
        return by_name


class WorkflowOutputs(BaseModel):
    """Named output nodes; each attribute's ``OutputAt`` says which node's images (or videos) it
    holds."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, defer_build=True)

    @classmethod
    def locations(cls) -> dict[str, OutputAt]:
        return {
            name: next(m for m in info.metadata if isinstance(m, OutputAt))
            for name, info in cls.model_fields.items()
        }


InputsT = TypeVar("InputsT", bound=WorkflowInputs)
OutputsT = TypeVar("OutputsT", bound=WorkflowOutputs)
NameT = DefaultedTypeVar("NameT", bound=str, default=Any)
"""The inputs' names; ``Any`` where a ``Workflow[Inputs, Outputs]`` annotation leaves it out."""


class Workflow(Generic[InputsT, OutputsT, NameT]):
    """A generated workflow: its source JSON, its inputs class, its outputs class and the
    names of its inputs (a ``Literal``, which type checkers hold ``sweep()``'s attribute to)."""

    SOURCE: ClassVar[str]
    """The workflow JSON's path, relative to the generated module's folder (run when it is
    there; else the copy beside the module, ``<module>.workflow.json``)."""
    SOURCE_SHA256: ClassVar[str]
    NAME: ClassVar[str]
    """The workflow's name, as saved in its JSON."""
    INVOKEAI_VERSION: ClassVar[str]
    """The InvokeAI version whose schema the module was generated against; ``run()``, ``arun()``,
    ``submit()``, ``sweep()`` and their ``a`` twins warn (``InvokeAIVersionWarning``) when the
    server runs another."""
    FIELDS_PACKAGE: ClassVar[str]
    """The fields package beside the module that its field classes and catalog come from."""
    inputs_class: ClassVar[type[WorkflowInputs]]
    outputs_class: ClassVar[type[WorkflowOutputs]]

    def __init__(self, source: str | Path | None = None) -> None:
        self.source = Path(source) if source is not None else self.default_source()
        self._definition: WorkflowDefinition | None = None

    @classmethod
    def default_source(cls) -> Path:
        """``SOURCE`` when it is there, else the copy of the workflow beside the module (which
        travels with it when its folder is moved, vendored or installed)."""
        module_file = getattr(sys.modules[cls.__module__], "__file__", None) or "."
        module_path = Path(os.path.abspath(module_file))
        source = module_path.parent / cls.SOURCE
        copy = module_path.with_suffix(WORKFLOW_COPY_SUFFIX)
        return source if source.is_file() or not copy.is_file() else copy

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
                    "regenerate its module (see the command in the module's header)",
                    SourceChangedWarning,
                    stacklevel=2,
                )
            from ivkgen.runtime._workflow.definition import WorkflowDefinition

            self._definition = WorkflowDefinition.from_file(self.source)
        return self._definition

    @classmethod
    def catalog(cls) -> Catalog:
        """The node catalog of the schema the module was generated against."""
        from ivkgen.runtime._workflow.catalog import package_catalog

        package = f"{cls.__module__.rpartition('.')[0]}.{cls.FIELDS_PACKAGE}"
        return package_catalog(package)

    def _new_handle(self) -> WorkflowHandle[None]:
        from ivkgen.runtime._workflow.handle import WorkflowHandle

        return WorkflowHandle(self.definition, catalog=self.catalog())

    @overload
    def handle(self, inputs: InputsT, client: None = None) -> WorkflowHandle[None]: ...

    @overload
    def handle(self, inputs: InputsT, client: InvokeAIClient) -> WorkflowHandle[InvokeAIClient]: ...

    def handle(
        self, inputs: InputsT, client: InvokeAIClient | None = None
    ) -> WorkflowHandle[InvokeAIClient] | WorkflowHandle[None]:
        """A fresh handle with ``inputs`` applied, bound to ``client`` when one is given (model
        names are then resolved against its server, and a server whose schema differs from the
        module's where the workflow uses it gets a ``SchemaDriftWarning``)."""
        handle = self._new_handle()
        if client is None:
            if inputs.apply_to(handle):
                raise WorkflowError(f"{type(self).__name__}: model names need a client to resolve")
            return handle
        from ivkgen.runtime._jobs.plans import drive_sync

        bound = handle.bind_client(client)
        drive_sync(self._bind_plan(bound, inputs), client.execute)
        return bound

    async def ahandle(
        self, inputs: InputsT, client: AsyncInvokeAIClient
    ) -> WorkflowHandle[AsyncInvokeAIClient]:
        """``handle()`` for an async client."""
        from ivkgen.runtime._jobs.plans import drive

        bound = self._new_handle().bind_client(client)
        await drive(self._bind_plan(bound, inputs), client)
        return bound

    def _bind_plan(self, handle: WorkflowHandle[Any], inputs: InputsT) -> Plan[None]:
        """Apply ``inputs`` to a bound handle: warn about the server's schema drift, resolve
        model names against the installed models."""
        from ivkgen.runtime._jobs.plans import MODELS
        from ivkgen.runtime._repositories.models import ModelOps
        from ivkgen.runtime._workflow.drift import drift_plan

        by_name = inputs.apply_to(handle)
        yield from drift_plan(type(self).__name__, handle.definition, self.catalog())
        installed = (yield ModelOps.list_models.call(MODELS)) if by_name else []
        for index, name in by_name.items():
            pick_model(handle, index, name, installed)

    def outputs(self, files: Sequence[OutputImage | OutputVideo]) -> OutputsT:
        """The typed outputs of one queue item's images and videos (those of a called workflow
        under its ``call_saved_workflow`` node)."""
        by_node: dict[str, list[OutputImage | OutputVideo]] = {}
        for file in files:
            by_node.setdefault(file.called_by or file.node_id, []).append(file)
        values = {
            name: by_node.get(at.node_id, []) for name, at in self.outputs_class.locations().items()
        }
        return cast(OutputsT, self.outputs_class(**values))

    def run(
        self,
        client: InvokeAIClient,
        inputs: InputsT,
        *,
        board_id: str | None = None,
        timeout: float = JOB_TIMEOUT,
    ) -> OutputsT:
        """Submit, wait and return the outputs; uploads are deleted, a failed job is canceled."""
        check_version(client, type(self).__name__, self.INVOKEAI_VERSION)
        with self.handle(inputs, client) as handle:
            handle.submit_sync(board_id=board_id)
            handle.wait_for_completion_sync(timeout=timeout)
            return self.outputs(handle.get_output_files())

    async def arun(
        self,
        client: AsyncInvokeAIClient,
        inputs: InputsT,
        *,
        board_id: str | None = None,
        timeout: float = JOB_TIMEOUT,
    ) -> OutputsT:
        """``run()`` with an async client, tracked through the event socket."""
        await acheck_version(client, type(self).__name__, self.INVOKEAI_VERSION)
        async with await self.ahandle(inputs, client) as handle:
            await handle.submit(board_id=board_id)
            await handle.wait_for_completion(timeout=timeout)
            return self.outputs(await handle.aget_output_files())

    def submit(
        self, client: InvokeAIClient, inputs: InputsT, *, board_id: str | None = None
    ) -> WorkflowHandle[InvokeAIClient]:
        """Enqueue and return the handle, to wait, read outputs and clean up yourself."""
        check_version(client, type(self).__name__, self.INVOKEAI_VERSION)
        handle = self.handle(inputs, client)
        handle.submit_sync(board_id=board_id)
        return handle

    async def asubmit(
        self, client: AsyncInvokeAIClient, inputs: InputsT, *, board_id: str | None = None
    ) -> WorkflowHandle[AsyncInvokeAIClient]:
        """``submit()`` with an async client; the handle follows the job's events."""
        await acheck_version(client, type(self).__name__, self.INVOKEAI_VERSION)
        handle = await self.ahandle(inputs, client)
        await handle.submit(board_id=board_id)
        return handle

    def sweep(
        self,
        client: InvokeAIClient,
        inputs: InputsT,
        attribute: NameT,
        values: Sequence[Any],
        *,
        board_id: str | None = None,
        timeout: float = JOB_TIMEOUT,
    ) -> list[OutputsT]:
        """One queue item per value of input ``attribute``; the outputs in value order. The
        items go to the server's queue as it has room (a one-server ``ServerPool``), so a sweep
        larger than the queue's maximum size waits instead of losing items; an ``attribute``
        that names no input is an ``InputLookupError`` listing the inputs' names."""
        from ivkgen.runtime._pool.pool import ServerPool

        self.inputs_class.location(attribute)
        check_version(client, type(self).__name__, self.INVOKEAI_VERSION)
        resolved = self.with_models_resolved(inputs, client)
        pool = ServerPool([client])
        return pool.sweep(self, resolved, attribute, values, board_id=board_id, timeout=timeout)

    async def asweep(
        self,
        client: AsyncInvokeAIClient,
        inputs: InputsT,
        attribute: NameT,
        values: Sequence[Any],
        *,
        board_id: str | None = None,
        timeout: float = JOB_TIMEOUT,
    ) -> list[OutputsT]:
        """``sweep()`` with an async client (a one-server ``AsyncServerPool``)."""
        from ivkgen.runtime._pool.pool import AsyncServerPool

        self.inputs_class.location(attribute)
        await acheck_version(client, type(self).__name__, self.INVOKEAI_VERSION)
        resolved = await self.awith_models_resolved(inputs, client)
        pool = AsyncServerPool([client])
        return await pool.sweep(
            self, resolved, attribute, values, board_id=board_id, timeout=timeout
        )

    def with_models_resolved(self, inputs: InputsT, client: InvokeAIClient) -> InputsT:
        """A copy of ``inputs`` whose model inputs given by name hold the identifiers of the
        models installed on ``client``'s server (as :meth:`handle` resolves them)."""
        return self._resolved(inputs, self.handle(inputs, client))

    async def awith_models_resolved(self, inputs: InputsT, client: AsyncInvokeAIClient) -> InputsT:
        """``with_models_resolved()`` with an async client."""
        return self._resolved(inputs, await self.ahandle(inputs, client))

    def _resolved(self, inputs: InputsT, handle: WorkflowHandle[Any]) -> InputsT:
        """A copy of ``inputs`` whose model names are replaced by the fields ``handle`` holds."""
        from ivkgen.runtime._values import IvkValueField

        copy = inputs.model_copy()
        for name, at in self.inputs_class.locations().items():
            field = handle.find_input(node=at.node_id, field=at.field).field
            if isinstance(getattr(inputs, name), str) and not isinstance(field, IvkValueField):
                setattr(copy, name, field)
        return copy
