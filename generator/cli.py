"""The ``ivkgen`` command line: one subcommand per job, each a small function over argparse args.

Errors the user can fix (bad OpenAPI, unwritable folder) end with one line on stderr and exit
code 1, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from generator import GeneratorError, generator_version
from runtime.catalog import Catalog, default_catalog

Command = Callable[[argparse.Namespace], int]


def _fields(args: argparse.Namespace) -> int:
    from generator.fields import generate_fields
    from generator.openapi import fetch, load_file

    started = time.perf_counter()
    if args.server:
        spec = fetch(args.server, args.invokeai_version)
    else:
        spec = load_file(args.openapi, args.invokeai_version)
    written = generate_fields(spec, args.output)
    elapsed = time.perf_counter() - started
    names = ", ".join(str(path) for path in written)
    print(f"ivkgen: wrote {names} for InvokeAI {spec.invokeai_version} in {elapsed:.2f} s")
    return 0


def _add_fields(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "fields",
        help="emit the Ivk field classes and the node catalog from InvokeAI's OpenAPI",
        description="Write fields.py and catalog.json for one InvokeAI OpenAPI schema.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--openapi", metavar="FILE", help="a captured openapi.json")
    source.add_argument("--server", metavar="URL", help="a running InvokeAI server")
    parser.add_argument("-o", "--output", metavar="DIR", default="generated", help="output folder")
    parser.add_argument(
        "--invokeai-version",
        metavar="VERSION",
        help="default: from the invokeai-<version>.json name or the server's /api/v1/app/version",
    )
    parser.set_defaults(command=_fields)


def _catalog(args: argparse.Namespace) -> Catalog:
    """The catalog for ``--openapi FILE`` or ``--server URL``; the bundled one by default."""
    from generator.openapi import build_catalog, fetch, load_file

    if not (args.openapi or args.server):
        return default_catalog()
    spec = fetch(args.server) if args.server else load_file(args.openapi)
    bundled = default_catalog()
    if spec.sha256 == bundled.openapi_sha256:
        return bundled
    return Catalog.from_json(build_catalog(spec), bundled.fields_module)


def _gen(args: argparse.Namespace) -> int:
    from generator.module import generate_module

    started = time.perf_counter()
    catalog = _catalog(args)
    for workflow in args.workflows:
        path = generate_module(Path(workflow), Path(args.output), catalog)
        print(f"ivkgen: wrote {path} in {time.perf_counter() - started:.2f} s")
    return 0


def _add_source_options(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--openapi", metavar="FILE", help="a captured openapi.json")
    source.add_argument("--server", metavar="URL", help="a running InvokeAI server")


def _add_gen(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "gen",
        help="emit the typed module of one or more workflow JSON files",
        description="Write <name>.py with <Name>Inputs, <Name>Outputs and <Name> per workflow.",
    )
    parser.add_argument("workflows", nargs="+", metavar="WORKFLOW.json")
    parser.add_argument("-o", "--output", metavar="DIR", default="generated", help="output folder")
    _add_source_options(parser)
    parser.set_defaults(command=_gen)


def _regen(args: argparse.Namespace) -> int:
    from generator.fields import generate_fields
    from generator.module import generate_module
    from generator.openapi import load_file

    generate_fields(load_file(args.openapi), args.output)
    default_catalog.cache_clear()
    catalog = default_catalog()
    for folder in (Path("data/workflows"), shared_workflows()):
        if not folder.is_dir():
            print(f"ivkgen: {folder} is absent; its modules were not regenerated")
            continue
        for workflow in sorted(folder.glob("*.json")):
            generate_module(workflow, Path(args.output), catalog)
    print(f"ivkgen: regenerated {args.output}/")
    return 0


def shared_workflows() -> Path:
    """The GUI exports beside the checkout (``$IVKGEN_SHARED/data/workflows``)."""
    return Path(os.environ.get("IVKGEN_SHARED", "../shared")) / "data" / "workflows"


def _add_regen(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "regen",
        help="regenerate every committed file in generated/",
        description="Field classes, catalog and the modules of data/workflows and shared ones.",
    )
    parser.add_argument("--openapi", metavar="FILE", required=True, help="a captured openapi.json")
    parser.add_argument("-o", "--output", metavar="DIR", default="generated", help="output folder")
    parser.set_defaults(command=_regen)


SUBCOMMANDS = (_add_fields, _add_gen, _add_regen)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ivkgen", description="Typed Python for InvokeAI workflows."
    )
    parser.add_argument("--version", action="version", version=f"ivkgen {generator_version()}")
    subparsers = parser.add_subparsers(metavar="COMMAND", required=True)
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command: Command = args.command
    try:
        return command(args)
    except GeneratorError as exc:
        print(f"ivkgen: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
