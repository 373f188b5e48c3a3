"""The node catalog: what every invocation type accepts and produces.

Generated from InvokeAI's OpenAPI by ``ivkgen fields`` (and ``ivkgen gen``) into a fields package
``fields_<version>/``: the ``Ivk*`` classes of that schema plus ``catalog.json``. The package of the
bundled schema ships as ``ivkgen.bundled``; the modules a user generates import the package written
beside them. Loaded lazily: importing the runtime reads nothing until a catalog is needed.

The records are defined once, here: the generator builds ``NodeSpec`` objects from the schema and
writes them with ``to_json()``; a catalog reads them back with ``NodeSpec.from_json()``.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.util
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from ivkgen.runtime import _fields as fields
from ivkgen.runtime import _values as values
from ivkgen.runtime._errors import IvkgenError
from ivkgen.runtime._fields import IvkField
from ivkgen.runtime._values import IvkCollectionField, IvkValueField

InputKind = Literal["any", "connection", "direct"]

CATALOG_FILE = "catalog.json"
"""The node catalog's file, inside its fields package."""
BUNDLED_PACKAGE = "ivkgen.bundled"
"""The fields package of the bundled InvokeAI schema."""


def fields_package_name(invokeai_version: str) -> str:
    """The name of the fields package for one InvokeAI version: ``fields_6_14_2``."""
    return "fields_" + "".join(c if c.isalnum() else "_" for c in invokeai_version)


@dataclass(frozen=True, slots=True)
class InputSpec:
    """One input of an invocation, as the OpenAPI schema describes it.

    ``type`` is a type expression over the schema's names: ``int``, ``float``, ``str``, ``bool``,
    ``Any``, a component schema name (``ImageField``), ``list[T]`` or ``T | list[T]``; ``choices``
    holds an enum's values (``type`` is then ``str``). ``ivk_class`` names the ``Ivk*`` class that
    holds a value of this input. ``required`` is the schema's ``orig_required``. A model input's
    ``model_bases`` and ``model_types`` are the bases and types it accepts (the schema's
    ``ui_model_base`` and ``ui_model_type``; ``None``: any).
    """

    name: str
    type: str
    ivk_class: str
    required: bool
    input: InputKind
    connection_only: bool
    nullable: bool = False
    has_default: bool = False
    default: Any = None
    title: str = ""
    description: str = ""
    field_kind: str = "input"
    ui_hidden: bool = False
    ui_type: str | None = None
    choices: tuple[str, ...] | None = None
    constraints: dict[str, int | float] = field(default_factory=dict)
    model_bases: tuple[str, ...] | None = None
    model_types: tuple[str, ...] | None = None

    @property
    def display_title(self) -> str:
        """The GUI's label for the field: the schema title, else the field name in words."""
        return self.title or self.name.replace("_", " ").title()

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> InputSpec:
        tuples = {key: raw.get(key) for key in ("choices", "model_bases", "model_types")}
        return cls(**{**raw, **{k: tuple(v) if v is not None else None for k, v in tuples.items()}})


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """One output field of an invocation."""

    name: str
    type: str
    title: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """One invocation type."""

    type: str
    version: str
    title: str
    category: str
    description: str
    classification: str
    output_type: str
    inputs: dict[str, InputSpec]
    outputs: dict[str, OutputSpec]

    def to_json(self) -> dict[str, Any]:
        """The spec as ``catalog.json`` holds it: inputs and outputs as lists, in order."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["inputs"] = [dataclasses.asdict(spec) for spec in self.inputs.values()]
        data["outputs"] = [dataclasses.asdict(spec) for spec in self.outputs.values()]
        return data

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> NodeSpec:
        return cls(
            **{
                **raw,
                "inputs": {i["name"]: InputSpec.from_json(i) for i in raw["inputs"]},
                "outputs": {o["name"]: OutputSpec(**o) for o in raw["outputs"]},
            }
        )


class UnknownNodeTypeError(IvkgenError, KeyError):
    """The catalog has no invocation of that type."""


class UnknownFieldError(IvkgenError, KeyError):
    """The invocation has no input of that name."""


MISSING: Any = object()


class NodeSpecs(Mapping[str, NodeSpec]):
    """Node specs by type, each built from its catalog JSON on first use."""

    def __init__(self, raw: Mapping[str, dict[str, Any]]) -> None:
        self._raw = raw
        self._built: dict[str, NodeSpec] = {}

    def __getitem__(self, node_type: str) -> NodeSpec:
        spec = self._built.get(node_type)
        if spec is None:
            spec = self._built[node_type] = NodeSpec.from_json(self._raw[node_type])
        return spec

    def __contains__(self, node_type: object) -> bool:
        return node_type in self._raw

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


@dataclass(frozen=True)
class Catalog:
    """Node specs plus the module of generated ``Ivk*`` classes that go with them."""

    invokeai_version: str
    openapi_sha256: str
    nodes: Mapping[str, NodeSpec]
    fields_module: ModuleType

    def node(self, node_type: str) -> NodeSpec:
        try:
            return self.nodes[node_type]
        except KeyError:
            raise UnknownNodeTypeError(node_type) from None

    def field_class(self, name: str) -> type[Any]:
        """The ``Ivk*`` class called ``name``: a runtime primitive or a generated class."""
        homes = (values, fields, self.fields_module)
        cls = next((c for home in homes if isinstance(c := getattr(home, name, None), type)), None)
        if cls is None:
            raise LookupError(f"no Ivk field class {name!r} in runtime or {self.fields_module}")
        return cls

    def make_field(self, spec: InputSpec, value: Any = MISSING) -> IvkField[Any]:
        """The ``Ivk*`` instance for one input: its class, ``value`` (the schema default when
        missing) and the schema's constraints. A list given to a ``T | list[T]`` input is held by
        ``IvkCollectionField``.
        """
        if value is MISSING:
            value = spec.default if spec.has_default else None
        cls = self.field_class(spec.ivk_class)
        if isinstance(value, list) and not issubclass(cls, IvkCollectionField):
            single, *rest = spec.type.split(" | ")
            if rest != [f"list[{single}]"]:
                raise ValueError(f"input {spec.name!r} of type {spec.type} does not take a list")
            cls = IvkCollectionField
        if issubclass(cls, IvkValueField):
            limits: dict[str, Any] = dict(spec.constraints)
            if spec.choices is not None:
                limits["choices"] = spec.choices
            made: IvkField[Any] = cls(value=value, **limits)
            return made
        if value is None:
            return cls()  # type: ignore[no-any-return]
        return cls.model_validate(value)  # type: ignore[no-any-return]

    def input_field(self, node_type: str, field_name: str, value: Any = MISSING) -> IvkField[Any]:
        """:meth:`make_field` for the input ``field_name`` of invocation ``node_type``."""
        spec = self.node(node_type).inputs.get(field_name)
        if spec is None:
            raise UnknownFieldError(f"invocation {node_type!r} has no input {field_name!r}")
        return self.make_field(spec, value)

    @classmethod
    def from_json(cls, data: dict[str, Any], fields_module: ModuleType) -> Catalog:
        nodes = NodeSpecs({node["type"]: node for node in data["nodes"]})
        return cls(data["invokeai_version"], data["openapi_sha256"], nodes, fields_module)

    @classmethod
    def from_package(cls, module: ModuleType) -> Catalog:
        """The catalog of an imported fields package (its ``catalog.json``)."""
        path = Path(module.__file__ or "").parent / CATALOG_FILE
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")), module)

    @classmethod
    def from_dir(cls, folder: str | Path) -> Catalog:
        """Load the fields package at ``folder`` (``ivkgen fields -o OUT`` writes
        ``OUT/fields_<version>``), or the only one inside ``folder``."""
        folder = Path(folder)
        if not (folder / CATALOG_FILE).is_file():
            found = sorted(p.parent for p in folder.glob(f"fields_*/{CATALOG_FILE}"))
            if len(found) != 1:
                raise FileNotFoundError(f"{folder}: expected one fields_<version> package")
            folder = found[0]
        return cls.from_package(_load_package(folder))


def catalog_json(
    invokeai_version: str, openapi_sha256: str, nodes: Iterable[NodeSpec]
) -> dict[str, Any]:
    """A catalog as ``catalog.json`` holds it (what ``Catalog.from_json`` reads)."""
    return {
        "invokeai_version": invokeai_version,
        "openapi_sha256": openapi_sha256,
        "nodes": [node.to_json() for node in nodes],
    }


def _load_package(path: Path) -> ModuleType:
    name = f"_ivkgen_fields_{abs(hash(str(path.resolve())))}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, path / "__init__.py", submodule_search_locations=[str(path)]
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load field classes from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@functools.cache
def package_catalog(package: str) -> Catalog:
    """The catalog of the fields package importable as ``package``, read once."""
    return Catalog.from_package(importlib.import_module(package))


def default_catalog() -> Catalog:
    """The catalog of the bundled InvokeAI schema (``ivkgen.bundled``)."""
    return package_catalog(BUNDLED_PACKAGE)
