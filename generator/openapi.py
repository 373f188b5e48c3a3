"""Load an InvokeAI OpenAPI document (a captured file or a running server's) and build its node
catalog (:mod:`ivkgen.runtime._workflow.schema`)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ivkgen.generator import GeneratorError
from ivkgen.runtime._timeouts import SCHEMA_TIMEOUT
from ivkgen.runtime._workflow.catalog import NodeSpec
from ivkgen.runtime._workflow.schema import (
    INPUT_KINDS,
    SchemaError,
    Schemas,
    branches,
    is_enum_schema,
    is_invocation,
    node_specs,
    ref_name,
)

_VERSION_IN_NAME = re.compile(r"invokeai-(\d+(?:\.\d+)*)\.json$")


class OpenAPIError(GeneratorError):
    """The OpenAPI document is unreadable or is not an InvokeAI schema."""


@dataclass(frozen=True)
class Spec:
    """A loaded OpenAPI document with where it came from and its hash."""

    data: dict[str, Any]
    sha256: str
    source: str
    invokeai_version: str

    @property
    def schemas(self) -> Schemas:
        result: Schemas = self.data["components"]["schemas"]
        return result


def parse_spec(raw: bytes, source: str, invokeai_version: str) -> Spec:
    """Check ``raw`` is an OpenAPI JSON document with InvokeAI invocation schemas."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OpenAPIError(f"{source}: not JSON ({exc})") from None
    if not isinstance(data, dict) or "openapi" not in data:
        raise OpenAPIError(f"{source}: not an OpenAPI document (no 'openapi' key)")
    schemas = data.get("components", {}).get("schemas")
    if not isinstance(schemas, dict) or not any(is_invocation(s) for s in schemas.values()):
        raise OpenAPIError(f"{source}: no InvokeAI invocation schemas in components.schemas")
    return Spec(data, hashlib.sha256(raw).hexdigest(), source, invokeai_version)


def read_file(path: str | Path) -> bytes:
    """The bytes of a captured ``openapi.json``."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise OpenAPIError(f"{path}: cannot read ({exc.strerror})") from None


def load_file(path: str | Path, invokeai_version: str | None = None) -> Spec:
    """Read a captured ``openapi.json``; the version defaults to the ``invokeai-<v>.json`` name."""
    path = Path(path)
    raw = read_file(path)
    if invokeai_version is None:
        match = _VERSION_IN_NAME.search(path.name)
        if match is None:
            raise OpenAPIError(
                f"{path}: cannot tell the InvokeAI version from the file name; "
                "name it invokeai-<version>.json or pass --invokeai-version"
            )
        invokeai_version = match.group(1)
    return parse_spec(raw, str(path), invokeai_version)


def fetch(url: str, invokeai_version: str | None = None, timeout: float = SCHEMA_TIMEOUT) -> Spec:
    """Download the schema (and the server's version) from a running server."""
    from ivkgen.runtime._client import InvokeAIClient  # here: generating from a file needs none
    from ivkgen.runtime._errors import IvkgenError
    from ivkgen.runtime._server.core import Call, parse_bytes
    from ivkgen.runtime._server.features import SCHEMA_PATH

    with InvokeAIClient(url, timeout=timeout) as client:
        try:
            raw = client.execute(Call("GET", SCHEMA_PATH, parse_bytes))
            version = invokeai_version or client.get_version()
        except (IvkgenError, ValueError) as exc:
            problem = f"{client.base_url}: cannot fetch the OpenAPI schema ({exc})"
            raise OpenAPIError(problem) from None
    return parse_spec(raw, client.base_url + SCHEMA_PATH, version)


def build_catalog(spec: Spec) -> list[NodeSpec]:
    """The node catalog of the schema: every invocation, sorted by node type."""
    try:
        return node_specs(spec.schemas)
    except SchemaError as exc:
        raise OpenAPIError(f"{spec.source}: {exc}") from None


def input_structs(spec: Spec) -> list[str]:
    """Struct schemas an invocation input can hold, sorted: the roots of the field classes."""
    names: set[str] = set()
    schemas = spec.schemas
    for schema in schemas.values():
        if not is_invocation(schema):
            continue
        for prop in schema.get("properties", {}).values():
            if prop.get("field_kind") not in INPUT_KINDS:
                continue
            for branch in branches(prop):
                target = branch.get("items", branch) if branch.get("type") == "array" else branch
                name = ref_name(target.get("$ref", ""))
                if name in schemas and not is_enum_schema(schemas[name]):
                    names.add(name)
    return sorted(names)
