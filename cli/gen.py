"""``ivkgen gen``: the typed module of workflow JSON files, of the server's library workflows,
or of each workflow JSON in a watched folder."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ivkgen.cli.errors import UsageError
from ivkgen.cli.options import SERVER_ENV, Subparsers, add_login, add_schema_source


def add_parser(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "gen",
        help="emit the typed module of workflow JSON files or of the server's library workflows",
        description="Write <name>.py with <Name>Inputs, <Name>Outputs and <Name> per workflow: "
        "from exported files, or with --server (default: $IVKGEN_SERVER) and --workflow/--all "
        "from the server's library (the JSON goes to OUT/workflows/). --watch DIR regenerates a "
        "module when its JSON in DIR changes.",
    )
    parser.add_argument("workflows", nargs="*", metavar="WORKFLOW.json")
    parser.add_argument("-o", "--output", metavar="DIR", default="generated", help="output folder")
    add_schema_source(parser, library=True)
    parser.add_argument(
        "--workflow",
        dest="library",
        metavar="NAME_OR_ID",
        action="append",
        default=[],
        help="a workflow of the --server's library, by id or exact name (repeatable)",
    )
    parser.add_argument(
        "--all", action="store_true", help="every user and project workflow of the library"
    )
    parser.add_argument(
        "--watch",
        metavar="DIR",
        help="regenerate the module of each generated workflow in DIR when its JSON changes",
    )
    add_login(parser)
    parser.set_defaults(command=gen)


def _check_usage(args: argparse.Namespace) -> None:
    from ivkgen.cli.options import server_default

    from_library = bool(args.library or args.all)
    if from_library and not args.server and not args.openapi:
        args.server = server_default()
    if from_library and not args.server:
        raise UsageError(
            f"--workflow and --all read the library of --server URL (or ${SERVER_ENV})"
        )
    if sum(map(bool, (args.workflows, from_library, args.watch))) != 1:
        raise UsageError("give WORKFLOW.json files, --workflow/--all, or --watch DIR")


def gen(args: argparse.Namespace) -> int:
    from ivkgen.cli.schemas import spec_of
    from ivkgen.generator.package import gen_command, generate_modules

    _check_usage(args)
    started = time.perf_counter()
    if args.watch:
        from ivkgen.cli.file_watcher import watch

        def command(source: Path) -> list[str]:
            return gen_command(source, args.output, openapi=args.openapi, server=args.server)

        return watch(Path(args.watch), Path(args.output), spec_of(args), command)
    if args.library or args.all:
        written = _gen_from_library(args)
    else:
        commands = [
            gen_command(workflow, args.output, openapi=args.openapi, server=args.server)
            for workflow in args.workflows
        ]
        written = generate_modules(
            [Path(w) for w in args.workflows], Path(args.output), spec_of(args), commands
        )
    for path in written:
        print(f"ivkgen: wrote {path} in {time.perf_counter() - started:.2f} s")
    return 0


def _gen_from_library(args: argparse.Namespace) -> list[Path]:
    from ivkgen.cli.schemas import spec_of
    from ivkgen.generator import GeneratorError
    from ivkgen.generator.library import find_records, generate_from_library
    from ivkgen.runtime._client import InvokeAIClient

    with InvokeAIClient.from_url(args.server, email=args.email, password=args.password) as client:
        ids = find_records(client, args.library, args.all)
        if not ids:
            raise GeneratorError(f"the library of {args.server} has no user or project workflow")
        return generate_from_library(client, ids, Path(args.output), spec_of(args), args.server)
