"""The ``ivkgen`` command line: one subcommand per job, each a small function over argparse args.

``fields``, ``gen`` and ``regen`` write code; ``inputs``, ``check`` and ``run`` work on one
workflow (their logic lives in ``ivkgen.generator.commands``). Expected failures (bad OpenAPI or
workflow file, server unreachable, unknown input, rejected values, failed job) end with the
error and a hint on stderr and exit code 1, never a traceback; Ctrl-C exits with 130.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ivkgen.generator import GeneratorError, generator_version
from ivkgen.generator.commands.errors import CommandError, exit_code, report
from ivkgen.generator.terminal import safe
from ivkgen.runtime.errors import IvkgenError
from ivkgen.runtime.workflow.catalog import Catalog, default_catalog

if TYPE_CHECKING:
    from ivkgen.generator.openapi import Spec

Command = Callable[[argparse.Namespace], int]


def _fields(args: argparse.Namespace) -> int:
    from ivkgen.generator.fields import generate_fields
    from ivkgen.generator.openapi import fetch, load_file

    started = time.perf_counter()
    if args.server:
        spec = fetch(args.server, args.invokeai_version)
    else:
        spec = load_file(args.openapi, args.invokeai_version)
    written = generate_fields(spec, args.output)
    elapsed = time.perf_counter() - started
    folders = sorted({str(path.parent) for path in written})
    print(
        f"ivkgen: wrote {len(written)} files in {', '.join(folders)} for InvokeAI "
        f"{spec.invokeai_version} in {elapsed:.2f} s"
    )
    return 0


def _add_fields(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "fields",
        help="emit the Ivk field classes and the node catalog from InvokeAI's OpenAPI",
        description="Write the fields package and catalog.json for one InvokeAI OpenAPI schema.",
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


def _spec(args: argparse.Namespace) -> Spec | None:
    """The schema of ``--openapi FILE`` or ``--server URL``; ``None`` for the bundled one (also
    when the file is the bundled schema, recognised by its hash before it is parsed)."""
    from ivkgen.generator.openapi import fetch, load_file, read_file

    if args.server:
        return fetch(args.server)
    bundled = default_catalog().openapi_sha256
    if not args.openapi or hashlib.sha256(read_file(args.openapi)).hexdigest() == bundled:
        return None
    return load_file(args.openapi)


def _catalog(args: argparse.Namespace) -> Catalog:
    """The catalog for ``--openapi FILE`` or ``--server URL``; the bundled one by default."""
    from ivkgen.generator.openapi import build_catalog

    spec = _spec(args)
    if spec is None or spec.sha256 == default_catalog().openapi_sha256:
        return default_catalog()
    nodes = {node.type: node for node in build_catalog(spec)}
    return Catalog(spec.invokeai_version, spec.sha256, nodes, default_catalog().fields_module)


def _gen(args: argparse.Namespace) -> int:
    from ivkgen.generator.package import gen_command, generate_modules

    started = time.perf_counter()
    if args.watch:
        from ivkgen.generator.watch import watch

        def command(source: Path) -> list[str]:
            return gen_command(source, args.output, openapi=args.openapi, server=args.server)

        return watch(Path(args.watch), Path(args.output), _spec(args), command)
    if args.library or args.all:
        written = _gen_from_library(args)
    else:
        commands = [
            gen_command(workflow, args.output, openapi=args.openapi, server=args.server)
            for workflow in args.workflows
        ]
        written = generate_modules(
            [Path(w) for w in args.workflows], Path(args.output), _spec(args), commands
        )
    for path in written:
        print(f"ivkgen: wrote {path} in {time.perf_counter() - started:.2f} s")
    return 0


def _gen_from_library(args: argparse.Namespace) -> list[Path]:
    from ivkgen.generator.library import find_records, generate_from_library
    from ivkgen.runtime.client import InvokeAIClient

    with InvokeAIClient.from_url(args.server, email=args.email, password=args.password) as client:
        ids = find_records(client, args.library, args.all)
        if not ids:
            raise GeneratorError(f"the library of {args.server} has no user or project workflow")
        return generate_from_library(client, ids, Path(args.output), _spec(args), args.server)


def _add_source_options(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--openapi", metavar="FILE", help="a captured openapi.json")
    source.add_argument("--server", metavar="URL", help="a running InvokeAI server")


def _add_login_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--email",
        default=os.environ.get("INVOKEAI_EMAIL"),
        help="log in as this user (multi-user servers; default: $INVOKEAI_EMAIL)",
    )
    parser.add_argument(
        "--password",
        default=os.environ.get("INVOKEAI_PASSWORD"),
        help="the user's password (default: $INVOKEAI_PASSWORD)",
    )


def _add_gen(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "gen",
        help="emit the typed module of workflow JSON files or of the server's library workflows",
        description="Write <name>.py with <Name>Inputs, <Name>Outputs and <Name> per workflow: "
        "from exported files, or with --server and --workflow/--all from the server's library "
        "(the JSON goes to OUT/workflows/). --watch DIR regenerates a module when its JSON "
        "in DIR changes.",
    )
    parser.add_argument("workflows", nargs="*", metavar="WORKFLOW.json")
    parser.add_argument("-o", "--output", metavar="DIR", default="generated", help="output folder")
    _add_source_options(parser)
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
    _add_login_options(parser)
    parser.set_defaults(command=_gen)


def _check_gen_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Usage errors of ``ivkgen gen`` (exit 2)."""
    from_library = bool(args.library or args.all)
    if from_library and not args.server:
        parser.error("gen: --workflow and --all read the library of --server URL")
    if sum(map(bool, (args.workflows, from_library, args.watch))) != 1:
        parser.error("gen: give WORKFLOW.json files, --workflow/--all, or --watch DIR")


def _pull(args: argparse.Namespace) -> int:
    from ivkgen.generator.library import pull
    from ivkgen.runtime.client import InvokeAIClient

    with InvokeAIClient.from_url(args.server, email=args.email, password=args.password) as client:
        for folder in _folders(args):
            for done in pull(client, folder):
                if done.was == done.now:
                    print(f"ivkgen: {done.path} is up to date ({done.workflow_id})")
                else:
                    print(
                        f"ivkgen: regenerated {done.path}: library workflow "
                        f"{done.workflow_id} changed ({done.was} -> {done.now})"
                    )
    return 0


def _add_folders(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "folders", nargs="*", default=["generated"], metavar="FOLDER", help="default: generated"
    )


def _folders(args: argparse.Namespace) -> list[Path]:
    """The FOLDER arguments, each an existing folder."""
    folders = [Path(folder) for folder in args.folders]
    for folder in folders:
        if not folder.is_dir():
            raise GeneratorError(f"{folder}: no such folder")
    return folders


def _add_pull(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "pull",
        help="regenerate the modules whose server library workflow changed",
        description="For each module in FOLDER generated from the server's library, fetch its "
        "workflow again and, when it changed (updated_at), rewrite its JSON and its module.",
    )
    _add_folders(parser)
    parser.add_argument("--server", metavar="URL", required=True, help="the InvokeAI server")
    _add_login_options(parser)
    parser.set_defaults(command=_pull)


def _regen(args: argparse.Namespace) -> int:
    from ivkgen.generator.openapi import fetch, load_file
    from ivkgen.generator.package import ensure_fields
    from ivkgen.generator.regen import find_modules, rerender, stale_diff
    from ivkgen.generator.render import write_files

    spec = fetch(args.server) if args.server else load_file(args.openapi) if args.openapi else None
    stale = 0
    for folder in _folders(args):
        if args.check:
            stale += _check_fields(folder, spec)
        elif spec is not None:
            ensure_fields(folder, spec, replace=True)
        modules = [rerender(module, {}) for module in find_modules(folder)]
        if not args.check:
            write_files({module.path: module.source for module in modules})
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
    from ivkgen.runtime.workflow.catalog import fields_package_name

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


def _add_regen(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    _add_folders(parser)
    _add_source_options(parser)
    parser.set_defaults(command=_regen)


def _add_workflow_argument(parser: argparse.ArgumentParser, module: bool = False) -> None:
    if module:
        parser.add_argument(
            "workflow",
            metavar="MODULE_OR_JSON",
            help="a workflow exported from InvokeAI, or a module ivkgen gen wrote",
        )
    else:
        parser.add_argument(
            "workflow", metavar="WORKFLOW.json", help="a workflow exported from InvokeAI"
        )


def _add_server_options(parser: argparse.ArgumentParser, *, several: bool = False) -> None:
    if several:
        parser.add_argument(
            "--server",
            metavar="URL",
            action="append",
            required=True,
            help="an InvokeAI server (repeatable: the items are spread over the servers)",
        )
    else:
        parser.add_argument("--server", metavar="URL", required=True, help="the InvokeAI server")
    _add_login_options(parser)


def _inputs(args: argparse.Namespace) -> int:
    from ivkgen.generator.commands.inputs import inputs_command

    return inputs_command(args.workflow, as_json_output=args.json, fields=args.fields)


def _add_inputs(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "inputs",
        help="list a workflow's form inputs (no server needed)",
        description="Name, description, version and author of a workflow, then each form "
        "input: index, label, attribute name (for run --set), node, field, type, required, "
        "current value.",
    )
    _add_workflow_argument(parser)
    parser.add_argument("--json", action="store_true", help="print JSON for machines")
    _add_fields_option(parser)
    parser.set_defaults(command=_inputs)


def _add_fields_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fields",
        metavar="DIR",
        help="the node catalog `ivkgen fields` wrote for the server (default: the bundled "
        "InvokeAI one); needed for workflows with custom nodes",
    )


def _check(args: argparse.Namespace) -> int:
    from ivkgen.generator.commands.check import check_command
    from ivkgen.runtime.client import InvokeAIClient

    with InvokeAIClient.from_url(args.server, email=args.email, password=args.password) as client:
        return check_command(args.workflow, client, lambda: _catalog(args))


def _add_check(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "check",
        help="check that a server can run a workflow (exit 0) or say what is missing (exit 1)",
        description="Node types and versions the server does not know, models the workflow "
        "names that are not installed (with the closest installed ones), required inputs "
        "without a value; for a generated module also where the server's schema differs "
        "from the module's (node versions, removed or retyped fields, enum values gone).",
    )
    _add_workflow_argument(parser, module=True)
    _add_server_options(parser)
    parser.set_defaults(command=_check, openapi=None)


def _positive(kind: type[int] | type[float]) -> Callable[[str], Any]:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be above 0")
        return value

    return parse


def _run(args: argparse.Namespace) -> int:
    from ivkgen.generator.commands.run import RunOptions, run_command

    options = RunOptions(
        workflow=args.workflow,
        servers=args.server,
        sets=args.set,
        images=args.image,
        videos=args.video,
        fields=Path(args.fields) if args.fields else None,
        out=Path(args.out),
        runs=args.runs,
        board=args.board,
        timeout=args.timeout,
        email=args.email,
        password=args.password,
        sweeps=args.sweep,
        ledger=Path(args.ledger) if args.ledger else None,
        resume=args.resume,
    )
    if args.resume and not args.ledger:
        raise CommandError("--resume continues the run recorded by --ledger FILE: give both")
    return run_command(options)


def _add_run(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run a workflow on a server and save its images and videos",
        description="Set inputs, upload images and videos, submit, follow the progress, "
        "download the output images and videos, delete the uploads. Ctrl-C cancels the job and "
        "cleans up.",
    )
    _add_workflow_argument(parser)
    _add_server_options(parser, several=True)
    parser.add_argument(
        "--set",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="set an input by attribute name or label (see `ivkgen inputs`); model inputs "
        "take an installed model's name, board inputs a board's name, lists and structured "
        "inputs JSON, colours #RRGGBB (repeatable)",
    )
    parser.add_argument(
        "--image",
        metavar="NAME=PATH",
        action="append",
        default=[],
        help="upload a local image for an image input (repeatable; deleted after the run)",
    )
    parser.add_argument(
        "--video",
        metavar="NAME=PATH",
        action="append",
        default=[],
        help="upload a local MP4 file for a video input (repeatable; deleted after the run)",
    )
    _add_fields_option(parser)
    parser.add_argument(
        "--out", metavar="DIR", default="outputs", help="where images go (default: outputs)"
    )
    parser.add_argument(
        "--runs", metavar="N", type=_positive(int), default=1, help="run the workflow N times"
    )
    parser.add_argument(
        "--board",
        metavar="NAME",
        help="an existing board for the output images whose board is unset (not created)",
    )
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_positive(float),
        help="cancel the job if it has not finished by then (default 600 on one server "
        "without --sweep; no limit for a pool run)",
    )
    parser.add_argument(
        "--sweep",
        metavar="NAME=V1,V2,...",
        action="append",
        default=[],
        help="run once per value of an input (repeatable: every combination, a grid)",
    )
    parser.add_argument(
        "--ledger",
        metavar="FILE",
        help="record the run in this sqlite file, to continue it with --resume",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the run recorded in --ledger: skip finished items, look up those in "
        "flight",
    )
    parser.set_defaults(command=_run)


def _add_serve(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from ivkgen.service import command

    parser = subparsers.add_parser("serve", help="serve workflows as a typed HTTP API")
    command.add_arguments(parser)
    parser.set_defaults(command=command.run)


SUBCOMMANDS = (
    *(_add_fields, _add_gen, _add_pull, _add_regen, _add_inputs, _add_check, _add_run),
    _add_serve,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ivkgen", description="Typed Python for InvokeAI workflows."
    )
    parser.add_argument("--version", action="version", version=f"ivkgen {generator_version()}")
    subparsers = parser.add_subparsers(metavar="COMMAND", required=True)
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


@contextlib.contextmanager
def _warnings_as_lines(stream: TextIO) -> Iterator[None]:
    """Show warnings as ``ivkgen: warning: ...`` lines, without source locations."""

    def show(message: Warning | str, *args: Any, **kwargs: Any) -> None:
        print(f"ivkgen: warning: {safe(message)}", file=stream)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is _gen:
        _check_gen_args(parser, args)
    command: Command = args.command
    try:
        with _warnings_as_lines(sys.stderr):
            return command(args)
    except BrokenPipeError:  # the reader went away (`ivkgen inputs ... | head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print("ivkgen: interrupted", file=sys.stderr)
        return 130
    except (GeneratorError, IvkgenError, CommandError) as exc:
        for line in report(exc):
            print(line, file=sys.stderr)
        return exit_code(exc)


if __name__ == "__main__":
    sys.exit(main())
