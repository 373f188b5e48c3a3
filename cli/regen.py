"""``ivkgen regen``: render every module ``ivkgen gen`` wrote in a folder again; ``--check``
only reports the stale ones."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ivkgen.cli.options import Subparsers, add_folders, add_schema_source, folders

if TYPE_CHECKING:
    from ivkgen.generator.openapi import Spec


def add_parser(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "regen",
        help="regenerate every module ivkgen gen wrote in a folder",
        description="Render each generated module in FOLDER again from its workflow JSON and "
        "the folder's fields package; with --openapi or --server, rewrite the fields "
        "package from that schema first.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; print a unified diff per stale module and exit 1 when "
        "regeneration would change anything (the generator's own version aside)",
    )
    add_folders(parser)
    add_schema_source(parser)
    parser.set_defaults(command=regen)


def regen(args: argparse.Namespace) -> int:
    from ivkgen.generator.openapi import fetch, load_file
    from ivkgen.generator.package import ensure_fields
    from ivkgen.generator.regen import find_modules, rerender, stale_diff
    from ivkgen.generator.render import write_files

    spec = fetch(args.server) if args.server else load_file(args.openapi) if args.openapi else None
    stale = 0
    for folder in folders(args):
        if args.check:
            stale += _check_fields(folder, spec)
        elif spec is not None:
            ensure_fields(folder, spec, replace=True)
        modules = [rerender(module, {}) for module in find_modules(folder)]
        if not args.check:
            write_files({path: text for module in modules for path, text in module.files().items()})
            print(f"ivkgen: regenerated {len(modules)} modules in {folder}/")
            continue
        for diff in filter(None, map(stale_diff, modules)):
            sys.stdout.writelines(diff)
            stale += 1
    if args.check:
        print(f"ivkgen: {stale} stale" if stale else "ivkgen: up to date", file=sys.stderr)
    return 1 if stale else 0


def _check_fields(folder: Path, spec: Spec | None) -> int:
    """1 (and a line saying so) when ``folder``'s fields packages were written from another
    schema than ``spec``; 0 without a schema to compare with."""
    if spec is None:
        return 0
    from ivkgen.runtime._workflow.catalog import Catalog, fields_package_name

    package = folder / fields_package_name(spec.invokeai_version)
    try:
        found = Catalog.from_dir(package).openapi_sha256
    except (OSError, ValueError):
        found = "none"
    if found == spec.sha256:
        return 0
    print(
        f"{package}: written from OpenAPI sha256 {found[:12]}, the schema is {spec.sha256[:12]}; "
        f"`ivkgen regen {folder}` with the same --openapi or --server rewrites it"
    )
    return 1
