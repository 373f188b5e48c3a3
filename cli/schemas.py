"""The schema and node catalog a command works with: ``--openapi FILE``, ``--server URL`` or
the bundled ones."""

from __future__ import annotations

import argparse
import hashlib

from ivkgen.generator.openapi import Spec, build_catalog, fetch, load_file, read_file
from ivkgen.runtime._workflow.catalog import Catalog, default_catalog


def spec_of(args: argparse.Namespace) -> Spec | None:
    """The schema of ``--openapi FILE`` or ``--server URL``; ``None`` for the bundled one (also
    when the file is the bundled schema, recognised by its hash before it is parsed)."""
    if args.server:
        return fetch(args.server)
    bundled = default_catalog().openapi_sha256
    if not args.openapi or hashlib.sha256(read_file(args.openapi)).hexdigest() == bundled:
        return None
    return load_file(args.openapi)


def catalog_of(args: argparse.Namespace) -> Catalog:
    """The catalog for ``--openapi FILE`` or ``--server URL``; the bundled one by default."""
    spec = spec_of(args)
    if spec is None or spec.sha256 == default_catalog().openapi_sha256:
        return default_catalog()
    nodes = {node.type: node for node in build_catalog(spec)}
    return Catalog(spec.invokeai_version, spec.sha256, nodes, default_catalog().fields_module)
