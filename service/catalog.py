"""What the service serves: the generated modules of its paths, each under its module's name.

A path is a folder of generated modules (imported as a package), or a workflow JSON file whose
module is generated on start into a cache folder (with the schema of the first server, else the
bundled one); ``--workflow NAME_OR_ID`` generates a module from the first server's library the
same way. Each workflow's request model is its Inputs class reshaped by the operator's flags
(:mod:`.shape`).
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import sys
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ivkgen.runtime._errors import ServeSetupError
from ivkgen.runtime._typed import Workflow, WorkflowInputs
from ivkgen.service.shape import (
    Shaping,
    media_inputs,
    model_name_inputs,
    parse_shaping,
    request_model,
)
from pydantic import BaseModel


@dataclass(frozen=True)
class ServedWorkflow:
    """One served workflow: its stable name (the module's), its generated class and request
    model, and the inputs the operator fixed (JSON data by attribute)."""

    name: str
    workflow: Workflow[Any, Any]
    request_model: type[BaseModel]
    fixed: Mapping[str, Any]
    media: Mapping[str, str]
    """The inputs that take a file: attribute -> ``"image"`` or ``"video"``."""
    model_names: frozenset[str] = frozenset()
    """The inputs that take a model by its installed name."""

    @property
    def outputs_names(self) -> list[str]:
        return list(self.workflow.outputs_class.model_fields)

    def output_kinds(self) -> dict[str, str]:
        """Each output attribute's kind of file: ``"image"`` or ``"video"``."""
        fields = self.workflow.outputs_class.model_fields
        return {
            name: "video" if "OutputVideo" in str(info.annotation) else "image"
            for name, info in fields.items()
        }

    def run_inputs(self, request: BaseModel) -> dict[str, Any]:
        """The module Inputs of one request, as the JSON data the store keeps."""
        return {**request.model_dump(mode="json"), **self.fixed}

    def inputs(self, data: Mapping[str, Any]) -> WorkflowInputs:
        return self.workflow.inputs_class.model_validate(dict(data))


def import_folder(folder: Path) -> list[types.ModuleType]:
    """Import every module of a folder of generated modules, as one package."""
    if not folder.is_dir():
        raise ServeSetupError(f"{folder}: no such folder of generated modules")
    package = "ivkgen_served_" + hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:12]
    if package not in sys.modules:
        module = types.ModuleType(package)
        module.__path__ = [str(folder.resolve())]
        sys.modules[package] = module
    found = []
    for path in sorted(folder.glob("*.py")):
        if path.stem.startswith("_"):
            continue
        try:
            found.append(importlib.import_module(f"{package}.{path.stem}"))
        except Exception as exc:  # a broken user module: name it, without a traceback
            raise ServeSetupError(f"{path}: cannot import it: {type(exc).__name__}: {exc}") from exc
    return found


def workflows_of(module: types.ModuleType) -> list[type[Workflow[Any, Any]]]:
    """The generated workflow classes a module defines."""
    return [
        value
        for value in vars(module).values()
        if inspect.isclass(value)
        and issubclass(value, Workflow)
        and value is not Workflow
        and value.__module__ == module.__name__
    ]


def generate_json(paths: Sequence[Path], cache: Path, server: str | None) -> Path:
    """Generate the modules of workflow JSON files into a folder of ``cache``; returns it."""
    from ivkgen.generator.openapi import fetch
    from ivkgen.generator.package import generate_modules

    for path in paths:
        if not path.is_file():
            raise ServeSetupError(f"{path}: no such workflow JSON file")
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.resolve()).encode() + path.read_bytes())
    out = cache / f"modules-{digest.hexdigest()[:16]}"
    spec = fetch(server) if server else None
    generate_modules(list(paths), out, spec)
    return out


def generate_library(ids: Sequence[str], cache: Path, server: str) -> Path:
    """Generate the modules of workflows from ``server``'s library; returns their folder."""
    from ivkgen.generator.library import find_records, generate_from_library
    from ivkgen.generator.openapi import fetch
    from ivkgen.runtime._client import InvokeAIClient

    out = cache / ("library-" + hashlib.sha256("\0".join(ids).encode()).hexdigest()[:16])
    with InvokeAIClient.from_url(server) as client:
        records = find_records(client, ids, False)
        generate_from_library(client, records, out, fetch(server), server)
    return out


def load_catalog(
    paths: Sequence[Path],
    *,
    library: Sequence[str] = (),
    server: str | None = None,
    cache: Path,
    sets: Sequence[str] = (),
    fixes: Sequence[str] = (),
    limits: Sequence[str] = (),
) -> dict[str, ServedWorkflow]:
    """The served workflows by name (see the module docstring)."""
    folders = [p for p in paths if p.is_dir()]
    files = [p for p in paths if not p.is_dir()]
    if files:
        folders.append(generate_json(files, cache, server))
    if library:
        if server is None:
            raise ServeSetupError(
                "--workflow takes workflows from a server's library: give --server"
            )
        folders.append(generate_library(library, cache, server))
    classes: dict[str, type[Workflow[Any, Any]]] = {}
    for folder in folders:
        for module in import_folder(folder):
            for cls in workflows_of(module):
                name = module.__name__.rpartition(".")[2]
                if name in classes:
                    raise ServeSetupError(
                        f"two served workflows are named {name!r} ({folder}): rename a module"
                    )
                classes[name] = cls
    if not classes:
        raise ServeSetupError(
            "nothing to serve: give a folder of generated modules, workflow JSON files or "
            "--workflow NAME_OR_ID"
        )
    shapings: dict[str, Shaping] = parse_shaping(sets, fixes, limits, list(classes))
    served = {}
    for name, cls in classes.items():
        model, fixed = request_model(name, cls.inputs_class, shapings[name])
        media = media_inputs(cls.inputs_class)
        names = model_name_inputs(cls.inputs_class)
        served[name] = ServedWorkflow(name, cls(), model, fixed, media, names)
    return served


__all__ = ["ServedWorkflow", "import_folder", "load_catalog", "workflows_of"]
